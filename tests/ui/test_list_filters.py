"""The training-jobs list as an operator's overview: filters in the URL, tooltips, CSV, live updates."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import pytest
from nicegui import app, ui
from nicegui.functions.navigate import History
from nicegui.testing import User
from sqlmodel import Session

from dda_portal import queries
from dda_portal.domain.clock import utcnow
from dda_portal.domain.status import CompilationStatus as C
from dda_portal.pages.feeds import settled
from dda_portal.pages.training_jobs import feed, view
from dda_portal.queries.refresh import CycleResult
from tests.ui.records import compilation, store, training, write

UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. '
    'Please confirm the model is a tar.gz file\nSecond line that the tooltip leaves out'
)


async def seed() -> None:
    """Five jobs, one per rollup (two not compiled, one of them still training)."""
    await write(
        training('all-good', minutes_ago=50),
        training('half-broken', minutes_ago=40),
        training('busy-bottle', minutes_ago=30),
        training('untouched-bottle', minutes_ago=20),
        training('still-training', status='In progress', minutes_ago=10),
        compilation('all-good', 'jetson-xavier', C.COMPLETED),
        compilation('all-good', 'x86_64-cpu', C.COMPLETED),
        compilation('all-good', 'arm64-cpu', C.COMPLETED),
        compilation('half-broken', 'jetson-xavier', C.COMPLETED),
        compilation('half-broken', 'x86_64-cpu', C.FAILED, UNTAR),
        compilation('busy-bottle', 'arm64-cpu', C.IN_PROGRESS, started_minutes_ago=1),
        compilation('busy-bottle', 'x86_64-cpu', C.STARTING),
    )


def table(user: User) -> ui.table:
    tables = [e for e in user.find(marker='training-jobs').elements if isinstance(e, ui.table)]
    assert len(tables) == 1
    return tables[0]


def shown(user: User) -> list[str]:
    return sorted(row['name'] for row in table(user).rows)


def in_order(user: User) -> list[str]:
    return [row['name'] for row in table(user).rows]


def ask(user: User, **pagination: Any) -> None:
    """What QTable sends in server mode when the user sorts or pages."""
    current = {k: v for k, v in table(user).pagination.items() if k != 'rowsNumber'}
    user.find(marker='training-jobs').trigger('request', {'pagination': {**current, **pagination}})


def rows(user: User) -> dict[str, dict[str, Any]]:
    return {row['name']: row for row in table(user).rows}


def chip(user: User, slug: str) -> ui.chip:
    return next(iter(user.find(marker=f'rollup-filter-{slug}').elements))  # type: ignore[return-value]


def chip_texts(user: User) -> list[str]:
    return [chip(user, slug).text for slug in ('not-compiled', 'compiling', 'compiled', 'compilation-failed')]


def select(user: User, marker: str) -> ui.select:
    return next(iter(user.find(marker=marker).elements))  # type: ignore[return-value]


@pytest.fixture
def urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs the page puts into the browser's address bar (`ui.navigate.history.replace`)."""
    replaced: list[str] = []
    monkeypatch.setattr(History, 'replace', lambda _self, url: replaced.append(url))
    return replaced


async def settle(condition: Any, what: str) -> None:
    for _ in range(50):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f'never happened: {what}')


async def test_rollup_chips_show_the_count_per_state(user: User) -> None:
    await seed()
    await user.open('/')
    assert chip_texts(user) == [
        'Not compiled · 2',
        'Compiling · 1',
        'Compiled · 1',
        'Compilation failed · 1',
    ]
    assert all(not chip(user, slug).selected for slug in ('compiling', 'compiled'))
    await user.should_see('5 training jobs')


async def test_one_click_on_chips_filters_and_puts_the_filter_in_the_url(user: User, urls: list[str]) -> None:
    await seed()
    await user.open('/')
    chip(user, 'compiling').selected = True  # what the browser's update:selected does
    assert shown(user) == ['busy-bottle']
    assert urls == ['/?rollup=Compiling']
    user.find(marker='rollup-filter-compilation-failed').trigger('update:selected', True)
    assert shown(user) == ['busy-bottle', 'half-broken']
    assert urls[-1:] == ['/?rollup=Compiling,Compilation+failed']
    await user.should_see('Showing 2 of 5 training jobs')
    user.find(marker='rollup-filter-compiling').trigger('update:selected', False)
    assert shown(user) == ['half-broken']
    assert urls[-1:] == ['/?rollup=Compilation+failed']
    assert user.back_history == ['/']  # replaced, never navigated: no reload


async def test_opening_a_filtered_url_shows_only_those_rows(user: User) -> None:
    await seed()
    await user.open('/?rollup=Compiling')
    assert shown(user) == ['busy-bottle']
    assert chip(user, 'compiling').selected
    assert not chip(user, 'compiled').selected
    assert chip_texts(user)[1] == 'Compiling · 1'


async def test_documented_url_with_every_filter(user: User) -> None:
    await seed()
    await user.open('/?rollup=Compiling,Compilation+failed&status=Completed&target=x86_64-cpu&q=bottle')
    assert shown(user) == ['busy-bottle']
    assert select(user, 'status-filter').value == ['Completed']
    assert select(user, 'target-filter').value == ['x86_64-cpu']
    assert next(iter(user.find(marker='name-filter').elements)).value == 'bottle'  # type: ignore[attr-defined]
    # counts follow the other filters: completed bottle jobs with an x86 attempt
    assert chip_texts(user) == ['Not compiled · 0', 'Compiling · 1', 'Compiled · 0', 'Compilation failed · 0']


async def test_training_status_filter(user: User, urls: list[str]) -> None:
    await seed()
    await user.open('/')
    select(user, 'status-filter').set_value(['In progress'])
    assert shown(user) == ['still-training']
    assert urls[-1:] == ['/?status=In+progress']


async def test_target_filter_offers_targets_by_label_and_keeps_jobs_with_an_attempt_for_them(
    user: User, urls: list[str]
) -> None:
    await seed()
    await user.open('/')
    target_select = select(user, 'target-filter')
    assert target_select.options == {
        'arm64-cpu': 'ARM64 CPU',
        'jetson-xavier': 'NVIDIA Jetson Xavier',
        'x86_64-cpu': 'x86_64 CPU',
    }
    target_select.set_value(['arm64-cpu'])
    assert shown(user) == ['all-good', 'busy-bottle']
    assert urls[-1:] == ['/?target=arm64-cpu']


async def test_name_filter(user: User, urls: list[str]) -> None:
    await seed()
    await user.open('/')
    user.find(marker='name-filter').type('BOTTLE')
    assert shown(user) == ['busy-bottle', 'untouched-bottle']
    assert urls[-1:] == ['/?q=BOTTLE']


async def test_unknown_or_hostile_query_values_are_ignored(user: User) -> None:
    await seed()
    await user.open(
        '/?rollup=Exploded,<script>alert(1)</script>&status=%00&target=quantum&page=-1&q=' + 'b' * 5000
    )
    assert not any(chip(user, slug).selected for slug in ('not-compiled', 'compiling', 'compiled'))
    assert select(user, 'status-filter').value == []
    assert select(user, 'target-filter').value == []
    search = next(iter(user.find(marker='name-filter').elements))
    assert search.value == 'b' * 100  # type: ignore[attr-defined]
    assert shown(user) == []  # only the over-long name search applies


async def test_clear_filters_shows_everything_and_resets_the_url(user: User, urls: list[str]) -> None:
    await seed()
    await user.open('/?rollup=Compiled&status=Completed&q=all')
    assert shown(user) == ['all-good']
    user.find('Clear filters').click()
    assert len(shown(user)) == 5
    assert urls[-1:] == ['/']
    assert select(user, 'status-filter').value == []
    assert not chip(user, 'compiled').selected


async def test_tooltip_fields_give_each_targets_state_duration_and_first_line_of_failure(user: User) -> None:
    await seed()
    await user.open('/')
    targets = {t['label']: t for t in rows(user)['half-broken']['targets']}
    assert targets['NVIDIA Jetson Xavier'] == {
        'label': 'NVIDIA Jetson Xavier',
        'state': 'Completed',
        'duration': '4 min 00 s',
    }
    assert targets['x86_64 CPU'] == {
        'label': 'x86_64 CPU',
        'state': 'Failed',
        'duration': '4 min 00 s',
        'reason': UNTAR.splitlines()[0],
    }
    # the tooltip shows an icon for every state word
    template = table(user).props['cells']['body-cell-rollup']
    assert "'Failed': 'error'" in template and "'Completed': 'check_circle'" in template
    assert rows(user)['untouched-bottle']['targets'] == []


async def test_tooltip_of_a_compiling_job_estimates_from_earlier_compilations_of_the_target(
    user: User,
) -> None:
    await seed()  # all-good compiled arm64 in 4 minutes; busy-bottle's arm64 started a minute ago
    await user.open('/')
    targets = {t['label']: t for t in rows(user)['busy-bottle']['targets']}
    assert targets['ARM64 CPU']['state'] == 'In progress'
    assert targets['ARM64 CPU']['duration'].startswith('running for 1 min')
    assert targets['ARM64 CPU']['estimate'] == '≈ 3 min left'
    assert targets['x86_64 CPU']['state'] == 'Starting'
    assert targets['x86_64 CPU']['duration'] == 'waiting to start'
    assert 'estimate' not in targets['x86_64 CPU']


async def test_tooltip_without_history_shows_no_estimate(user: User) -> None:
    await write(training('lonely'), compilation('lonely', 'jetson-xavier', C.IN_PROGRESS))
    await user.open('/')
    (target,) = rows(user)['lonely']['targets']
    assert target['duration'].startswith('running for 10 min')
    assert 'estimate' not in target


async def test_tooltip_renders_aws_text_as_text(user: User) -> None:
    hostile = '<img src=x onerror="alert(1)"> {{ 7*7 }}'
    await write(training('hostile'), compilation('hostile', 'x86_64-cpu', C.FAILED, hostile))
    await user.open('/')
    assert rows(user)['hostile']['targets'][0]['reason'] == hostile
    template = table(user).props['cells']['body-cell-rollup']
    assert '<q-tooltip' in template
    assert '{{ target.reason }}' in template and '{{ target.label }}' in template
    assert 'v-html' not in template and 'innerHTML' not in template


async def test_every_column_is_sortable(user: User) -> None:
    await seed()
    await user.open('/')
    assert all(column.get('sortable') for column in table(user).columns)
    assert table(user).pagination['rowsPerPage'] == 50


async def test_csv_has_the_filtered_rows_with_per_target_states_and_durations(user: User) -> None:
    await seed()
    await user.open('/?target=x86_64-cpu')
    user.find(marker='download-csv').click()
    response = await user.download.next()
    text = response.content.decode('utf-8')
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line['Training job'] for line in lines] == [
        'busy-bottle',
        'half-broken',
        'all-good',
    ]  # newest first
    by_name = {line['Training job']: line for line in lines}
    assert by_name['half-broken']['Compilation'] == 'Compilation failed'
    assert by_name['half-broken']['x86_64 CPU: state'] == 'Failed'
    assert by_name['half-broken']['x86_64 CPU: duration (s)'] == '240'
    assert by_name['half-broken']['x86_64 CPU: failure reason'] == UNTAR
    assert by_name['half-broken']['NVIDIA Jetson Xavier: state'] == 'Completed'
    assert by_name['half-broken']['ARM64 CPU: state'] == ''
    assert by_name['all-good']['Targets compiled'] == '3'
    assert by_name['busy-bottle']['ARM64 CPU: state'] == 'In progress'
    assert by_name['busy-bottle']['Training time (s)'] == '1200'


async def test_csv_follows_the_tables_sort_and_defuses_formulas(user: User) -> None:
    await write(
        training('b-job'), training('a-job'), compilation('a-job', 'x86_64-cpu', C.FAILED, '=HYPERLINK("x")')
    )
    await user.open('/')
    ask(user, sortBy='name', descending=False)
    user.find(marker='download-csv').click()
    lines = list(csv.DictReader(io.StringIO((await user.download.next()).content.decode())))
    assert [line['Training job'] for line in lines] == ['a-job', 'b-job']
    assert lines[0]['x86_64 CPU: failure reason'] == '\'=HYPERLINK("x")'


async def test_live_update_keeps_the_filter_sort_and_page(user: User, urls: list[str]) -> None:
    await seed()
    await write(*[training(f'compiling-{i:02d}', minutes_ago=100 + i) for i in range(60)])
    await write(*[compilation(f'compiling-{i:02d}', 'x86_64-cpu', C.IN_PROGRESS) for i in range(60)])
    await user.open('/?rollup=Compiling')
    the_table = table(user)
    ask(user, sortBy='name', descending=False, page=2)
    assert in_order(user) == [f'compiling-{i:02d}' for i in range(49, 60)]  # busy-bottle is first
    await write(training('new-bottle', minutes_ago=5), compilation('new-bottle', 'x86_64-cpu', C.IN_PROGRESS))
    assert in_order(user) == [f'compiling-{i:02d}' for i in range(49, 60)] + ['new-bottle']
    await write(
        compilation('busy-bottle', 'arm64-cpu', C.COMPLETED),
        compilation('busy-bottle', 'x86_64-cpu', C.FAILED),
    )
    # busy-bottle failed: no longer Compiling, so everything after it moves up by one
    assert in_order(user) == [f'compiling-{i:02d}' for i in range(50, 60)] + ['new-bottle']
    assert table(user) is the_table
    assert the_table.pagination == {
        'sortBy': 'name',
        'descending': False,
        'page': 2,
        'rowsPerPage': 50,
        'rowsNumber': 61,
    }
    assert chip(user, 'compiling').selected
    assert chip_texts(user) == [
        'Not compiled · 2',
        'Compiling · 61',
        'Compiled · 1',
        'Compilation failed · 2',
    ]
    assert user.back_history == ['/?rollup=Compiling']
    assert urls == []  # live updates never touch the URL


async def test_changing_a_filter_goes_back_to_the_first_page_and_keeps_the_sort(user: User) -> None:
    await write(*[training(f'job-{i:03d}', minutes_ago=100 + i) for i in range(120)])
    await user.open('/')
    ask(user, sortBy='name', descending=True, page=3)
    assert in_order(user)[0] == 'job-019'
    user.find(marker='name-filter').type('job-01')
    assert table(user).pagination['page'] == 1
    assert table(user).pagination['sortBy'] == 'name'
    assert in_order(user) == [f'job-{i:03d}' for i in range(19, 9, -1)]


async def test_the_browser_gets_one_page_and_asks_for_others(user: User) -> None:
    await write(*[training(f'job-{i:02d}', minutes_ago=100 + i) for i in range(60)])
    await user.open('/')
    assert in_order(user) == [f'job-{i:02d}' for i in range(50)]  # newest first
    assert table(user).pagination['rowsNumber'] == 60
    ask(user, page=2)
    assert in_order(user) == [f'job-{i:02d}' for i in range(50, 60)]
    ask(user, page=1, rowsPerPage=25)
    assert len(in_order(user)) == 25
    ask(user, page=9)  # past the end: the last page
    assert table(user).pagination['page'] == 3
    assert in_order(user) == [f'job-{i:02d}' for i in range(50, 60)]


A, B, H, S, U = 'all-good', 'busy-bottle', 'half-broken', 'still-training', 'untouched-bottle'


@pytest.mark.parametrize(
    ('column', 'ascending', 'descending'),
    [
        ('name', [A, B, H, S, U], [U, S, H, B, A]),
        ('status', [A, B, H, U, S], [S, A, B, H, U]),  # Completed < In progress; ties by name
        ('created', [A, H, B, U, S], [S, U, B, H, A]),
        ('training_time', [S, A, B, H, U], [A, B, H, U, S]),  # still training: time so far
        ('rollup', [H, A, B, S, U], [S, U, B, A, H]),
        ('compiled', [S, U, B, H, A], [A, H, B, S, U]),  # n compiled, then m targets
    ],
)
async def test_every_column_sorts_on_the_server(
    user: User, column: str, ascending: list[str], descending: list[str]
) -> None:
    await seed()
    await user.open('/')
    ask(user, sortBy=column, descending=False)
    assert in_order(user) == ascending
    ask(user, sortBy=column, descending=True)
    assert in_order(user) == descending
    assert table(user).pagination['sortBy'] == column


async def test_odd_requests_from_the_browser_are_ignored(user: User) -> None:
    await seed()
    await user.open('/')
    ask(user, sortBy='__proto__', descending='yes', page=-3, rowsPerPage=0)
    assert table(user).pagination == {
        'sortBy': None,
        'descending': False,
        'page': 1,
        'rowsPerPage': 50,
        'rowsNumber': 5,
    }
    assert in_order(user)[0] == 'still-training'  # unsorted: newest first
    ask(user, sortBy=['name'], page='2')
    assert table(user).pagination['sortBy'] is None
    user.find(marker='training-jobs').trigger('request', {'pagination': 'nonsense'})
    user.find(marker='training-jobs').trigger('request', {})
    assert len(in_order(user)) == 5


async def test_a_row_whose_rollup_changed_is_highlighted_for_a_moment(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(view, 'HIGHLIGHT_SECONDS', 0.3)
    await seed()
    await user.open('/')
    await write(compilation('busy-bottle', 'x86_64-cpu', C.IN_PROGRESS))  # still Compiling: no highlight
    assert not any(row['highlight'] for row in table(user).rows)
    await write(
        compilation('busy-bottle', 'arm64-cpu', C.COMPLETED),
        compilation('busy-bottle', 'x86_64-cpu', C.COMPLETED),
    )
    assert [name for name, row in rows(user).items() if row['highlight']] == ['busy-bottle']
    assert 'row.highlight' in table(user).props[':table-row-class-fn']
    await settle(lambda: not any(row['highlight'] for row in table(user).rows), 'highlight cleared')


async def test_finished_and_failed_compilations_are_announced_by_name(user: User) -> None:
    await seed()
    await write(training('quick'), compilation('quick', 'x86_64-cpu', C.IN_PROGRESS))
    await user.open('/?rollup=Not+compiled')  # announced even when the row is filtered out
    await write(compilation('quick', 'x86_64-cpu', C.COMPLETED))
    await user.should_see('Compilation finished: quick (1/1 compiled)')
    await write(
        compilation('busy-bottle', 'arm64-cpu', C.COMPLETED),
        compilation('busy-bottle', 'x86_64-cpu', C.FAILED),
    )
    await user.should_see('Compilation failed: busy-bottle (x86_64 CPU)')
    assert not user.notify.contains('all-good')


async def test_a_compilation_starting_is_not_announced(user: User) -> None:
    await seed()
    await user.open('/')
    await write(compilation('untouched-bottle', 'x86_64-cpu', C.STARTING))
    assert rows(user)['untouched-bottle']['rollup'] == 'Compiling'
    assert user.notify.messages == []


async def test_new_targets_appear_in_the_target_filter(user: User) -> None:
    await write(training('first'), compilation('first', 'x86_64-cpu', C.COMPLETED))
    await user.open('/?target=x86_64-cpu')
    assert select(user, 'target-filter').options == {'x86_64-cpu': 'x86_64 CPU'}
    await write(training('fresh'), compilation('fresh', 'jetson-xavier', C.STARTING))
    assert 'jetson-xavier' in select(user, 'target-filter').options  # type: ignore[operator]
    assert select(user, 'target-filter').value == ['x86_64-cpu']
    assert 'fresh' not in shown(user)


async def test_a_change_while_the_page_loads_is_not_lost(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed()
    loop = asyncio.get_running_loop()
    read = feed.read_all

    def read_then_change(session: Session) -> Any:
        snapshot = read(session)  # what the page starts from does not have the change
        cycle = CycleResult(
            utcnow(), 0, compilation_jobs=[compilation('untouched-bottle', 'x86_64-cpu', C.FAILED)]
        )
        loop.call_soon_threadsafe(store().changed.emit, store().apply(cycle))
        time.sleep(0.3)  # the refresh tells the pages while this page is still loading
        return snapshot

    monkeypatch.setattr(feed, 'read_all', read_then_change)
    await settled()  # the jobs read when the app started
    app.state.portal.list_feed.entries = None  # as before the first page of a portal: read them now
    await user.open('/')
    await settled()
    assert rows(user)['untouched-bottle']['rollup'] == 'Compilation failed'


async def test_pages_share_one_read_of_the_store(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed()
    await user.open('/')
    reads: list[str] = []
    for name in ('job_summaries', 'latest_attempt_summaries'):
        original = getattr(queries.jobs, name)
        monkeypatch.setattr(queries.jobs, name, lambda *a, _n=name, _o=original: reads.append(_n) or _o(*a))
    await user.open('/?rollup=Compiling')
    assert reads == []  # a page opened later starts from what the first one read
    assert shown(user) == ['busy-bottle']
    await write(compilation('untouched-bottle', 'x86_64-cpu', C.STARTING))
    assert reads == ['job_summaries', 'latest_attempt_summaries']  # once, whatever is open
    assert shown(user) == ['busy-bottle', 'untouched-bottle']
