"""Pages as a user sees them (NiceGUI's simulated user, no browser)."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from nicegui.testing import User

from dda_portal.domain.status import CompilationStatus as C
from tests.ui.records import compilation, training, write

UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file'
)


def table_rows(user: User, marker: str) -> list[dict[str, Any]]:
    tables = [e for e in user.find(marker=marker).elements if isinstance(e, ui.table)]
    assert len(tables) == 1
    return tables[0].rows


async def seed_three_jobs() -> None:
    await write(
        training('all-good'),
        training('half-broken'),
        training('busy'),
        training('untouched'),
        compilation('all-good', 'jetson-xavier', C.COMPLETED),
        compilation('all-good', 'x86_64-cpu', C.COMPLETED),
        compilation('half-broken', 'jetson-xavier', C.COMPLETED),
        compilation('half-broken', 'x86_64-cpu', C.FAILED, UNTAR),
        compilation('busy', 'arm64-cpu', C.IN_PROGRESS),
        compilation('busy', 'x86_64-cpu', C.FAILED, UNTAR),
    )


async def test_list_shows_rollup_and_counts_for_every_job(user: User) -> None:
    await seed_three_jobs()
    await user.open('/')
    rows = {row['name']: row for row in table_rows(user, 'training-jobs')}
    assert {name: (row['rollup'], row['compiled']) for name, row in rows.items()} == {
        'all-good': ('Compiled', '2/2 compiled'),
        'half-broken': ('Compilation failed', '1/2 compiled'),
        'busy': ('Compiling', '0/2 compiled'),
        'untouched': ('Not compiled', '0/0 compiled'),
    }
    assert rows['busy']['rollup_icon'] and rows['all-good']['status'] == 'Completed'


async def test_list_updates_in_place_when_the_refresh_commits(user: User) -> None:
    await seed_three_jobs()
    await user.open('/')
    table = user.find(marker='training-jobs').elements.pop()
    await write(compilation('busy', 'arm64-cpu', C.COMPLETED))
    rows = {row['name']: row for row in table_rows(user, 'training-jobs')}
    assert rows['busy']['rollup'] == 'Compilation failed'
    assert rows['busy']['compiled'] == '1/2 compiled'
    assert user.find(marker='training-jobs').elements.pop() is table  # same table, not rebuilt


async def test_empty_list_says_why(user: User) -> None:
    await user.open('/')
    await user.should_see('Not refreshed from AWS yet')
    assert table_rows(user, 'training-jobs') == []


async def test_job_page_has_the_three_tabs_and_overview(user: User) -> None:
    await seed_three_jobs()
    await user.open('/training-jobs/half-broken')
    for tab in ('Overview', 'Logs', 'Compilation'):
        await user.should_see(tab)
    await user.should_see('s3://dda-models/out/half-broken/output/model.tar.gz')
    await user.should_see('ml.g4dn.xlarge × 1')
    await user.should_see('20 min 00 s')  # billable time


async def test_compilation_tab_opens_from_the_url_with_one_row_per_target(user: User) -> None:
    await seed_three_jobs()
    await user.open('/training-jobs/half-broken?tab=compilation')
    tabs = [e for e in user.find(ui.tabs).elements]
    assert tabs[0].value == 'compilation'
    rows = {row['target']: row for row in table_rows(user, 'compilation-table')}
    assert set(rows) == {'NVIDIA Jetson Xavier', 'x86_64 CPU'}
    assert rows['NVIDIA Jetson Xavier']['status'] == 'Completed'
    assert rows['NVIDIA Jetson Xavier']['artifact'] == 's3://dda-models/compiled/half-broken-jetson-xavier-1/'
    assert rows['NVIDIA Jetson Xavier']['duration'] == '4 min 00 s'
    assert rows['x86_64 CPU']['status'] == 'Failed'
    assert rows['x86_64 CPU']['reason'] == UNTAR
    assert rows['x86_64 CPU']['cause'] == 'Model archive is not a valid tar.gz'  # from the guidance rules
    assert rows['NVIDIA Jetson Xavier']['cause'] == ''
    assert rows['x86_64 CPU']['artifact'] == ''


async def test_compilation_table_shows_the_latest_attempt_and_updates_live(user: User) -> None:
    await seed_three_jobs()
    await user.open('/training-jobs/busy?tab=compilation')
    await write(compilation('busy', 'x86_64-cpu', C.STARTING, attempt_suffix=2))
    rows = {row['target']: row for row in table_rows(user, 'compilation-table')}
    assert rows['x86_64 CPU']['status'] == 'Starting'
    assert rows['x86_64 CPU']['attempt'] == 2
    assert rows['x86_64 CPU']['reason'] == ''
    await user.should_see('Compiling')


async def test_unknown_tab_is_a_400_page_naming_the_tabs(user: User) -> None:
    await seed_three_jobs()
    response = await user.http_client.get('/training-jobs/busy', params={'tab': '<script>alert(1)</script>'})
    assert response.status_code == 400
    assert 'Traceback' not in response.text and '<script>alert(1)' not in response.text
    assert 'a training job has Overview, Logs, Compilation, Components.' in response.text


async def test_unknown_job_is_a_404_page(user: User) -> None:
    response = await user.http_client.get('/training-jobs/no-such-job')
    assert response.status_code == 404
    assert 'Training job not found' in response.text
    assert 'Traceback' not in response.text


async def test_logs_tab_shows_aws_error_with_code_when_logs_cannot_be_read(user: User) -> None:
    await seed_three_jobs()
    await user.open('/training-jobs/busy?tab=logs')
    await user.should_see('Could not read the logs', retries=100)


async def test_health_endpoints(user: User) -> None:
    response = await user.http_client.get('/healthz')
    assert response.json() == {'status': 'ok'}
    response = await user.http_client.get('/readyz')
    assert response.status_code == 503
    assert 'no successful AWS refresh within three intervals' in response.json()['problems']


async def test_refresh_now_pulls_from_aws_and_the_list_shows_it(aws: None, user: User) -> None:
    from tests.factories import create_compilation_job, create_training_job

    create_training_job('fresh-from-aws')
    create_compilation_job('fresh-from-aws-x86-64-cpu-1', 'fresh-from-aws', 'x86_64-cpu')
    await user.open('/')
    await user.should_see('Not refreshed from AWS yet')
    user.find('Refresh now').click()
    await user.should_see('Refreshed from AWS', retries=200)  # the toast, once the cycle is over
    rows = {row['name']: row for row in table_rows(user, 'training-jobs')}
    assert (rows['fresh-from-aws']['rollup'], rows['fresh-from-aws']['compiled']) == (
        'Compiled',
        '1/1 compiled',
    )
    await user.should_see('Last updated')


async def test_failed_refresh_shows_code_and_age_and_keeps_the_data(user: User) -> None:
    await seed_three_jobs()
    await user.open('/')
    user.find('Refresh now').click()  # AWS_ENDPOINT_URL points at a closed port in page tests
    await user.should_see('Refresh failed', retries=200)
    await user.should_see(marker='stale-banner')
    banner = next(iter(user.find(marker='stale-banner').elements))
    assert banner.text.startswith('SageMaker: EndpointConnectionError')  # each part names itself
    assert 'Greengrass components: EndpointConnectionError' in banner.text
    assert 'data from' in banner.text  # the seed counts as the last good refresh
    assert 'no data from AWS yet' not in banner.text
    assert len(table_rows(user, 'training-jobs')) == 4


async def test_a_failed_first_refresh_says_there_is_no_data_yet(user: User) -> None:
    await user.open('/')
    user.find('Refresh now').click()
    await user.should_see('Refresh failed', retries=200)
    banner = next(iter(user.find(marker='stale-banner').elements))
    assert banner.text.endswith('no data from AWS yet.')


async def test_running_compilation_shows_an_estimate_from_earlier_attempts(user: User) -> None:
    await write(
        training('earlier-1'),
        training('earlier-2'),
        training('earlier-3'),
        training('now-running'),
        compilation('earlier-1', 'x86_64-cpu', C.COMPLETED),  # each took 4 minutes
        compilation('earlier-2', 'x86_64-cpu', C.COMPLETED),
        compilation('earlier-3', 'x86_64-cpu', C.COMPLETED),
        compilation('now-running', 'x86_64-cpu', C.IN_PROGRESS, started_minutes_ago=1),
        compilation('now-running', 'arm64-cpu', C.IN_PROGRESS, started_minutes_ago=1),  # no history
    )
    await user.open('/training-jobs/now-running?tab=compilation')
    rows = {row['target_id']: row for row in table_rows(user, 'compilation-table')}
    assert rows['x86_64-cpu']['running'] is True
    assert rows['x86_64-cpu']['estimate'] == '≈ 3 min left'
    assert abs(rows['x86_64-cpu']['progress'] - 0.25) < 0.02
    assert (rows['arm64-cpu']['estimate'], rows['arm64-cpu']['progress']) == ('running', None)
