"""Several use cases refreshed by one portal into one store (moto): the home account in us-east-1 and an
account reached through AssumeRole in eu-west-1 keep the same names apart, and a use case whose AssumeRole
is denied fails on its own while the others refresh."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import sagemaker_backends
from pydantic import ValidationError

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.accounts import client_in, create_use_case_role
from dda_portal.domain.changes import Changed
from dda_portal.domain.clock import utcnow
from dda_portal.domain.refresh import SAGEMAKER
from dda_portal.domain.status import TrainingStatus
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import Services, build
from dda_portal.store import Store
from dda_portal.use_cases import places_of, session_for
from tests.factories import create_compilation_job, create_training_job, naive_utc

OTHER_ACCOUNT = '222222222222'
DENIED_ACCOUNT = '333333333333'
USE_CASES = f"""
[use_cases.line-1]
region = "us-east-1"

[use_cases.line-2]
account_id = "{OTHER_ACCOUNT}"
region = "eu-west-1"
role_arn = "arn:aws:iam::{OTHER_ACCOUNT}:role/dda-portal"
external_id = "line-2-portal"

[use_cases.line-3]
region = "eu-central-1"
role_arn = "arn:aws:iam::{DENIED_ACCOUNT}:role/dda-portal"
"""


class Denied:
    status_code = 403


def deny_line_3(params: dict[str, Any], **_: Any) -> tuple[Denied, dict[str, Any]] | None:
    """STS answers AccessDenied for the role of line-3 (as AWS does when the trust policy says no)."""
    if DENIED_ACCOUNT not in str(params.get('body')):
        return None
    return Denied(), {
        'Error': {'Code': 'AccessDenied', 'Message': 'not authorized to perform: sts:AssumeRole'},
        'ResponseMetadata': {'HTTPStatusCode': 403},
    }


def portal(tmp_path: Path, database_url: str, use_cases: str = USE_CASES) -> Services:
    path = tmp_path / 'use-cases.toml'
    path.write_text(use_cases)
    settings = Settings(
        database_url=database_url,
        sync_enabled=False,
        use_cases_file=path,
        greengrass_enabled=False,
        sagemaker_role_arn='arn:aws:iam::123456789012:role/dda-compile',
    )
    roles = [r['RoleName'] for r in client_in('iam', OTHER_ACCOUNT).list_roles()['Roles']]
    if 'dda-portal' not in roles:  # line-2's role, trusting the home account with line-2's external id
        create_use_case_role(OTHER_ACCOUNT, 'dda-portal', '123456789012', 'line-2-portal')
    home = AwsClients()
    home.session.events.register('before-call.sts.AssumeRole', deny_line_3)
    return build(settings, Store(database_url), home, TargetCatalog.load())


def sagemaker_of(services: Services, key: str) -> Any:
    """The SageMaker client of a place's own session (the role it assumes), to seed its account."""
    place = next(p for p in places_of(services.sync.settings.use_cases) if p.key == key)
    return session_for(place, boto3.session.Session()).client('sagemaker')


def seed_other_account(services: Services) -> None:
    client = sagemaker_of(services, 'line-2')
    client.create_training_job(
        TrainingJobName='cracks',
        AlgorithmSpecification={'TrainingImage': 'dda/train:1', 'TrainingInputMode': 'File'},
        RoleArn=f'arn:aws:iam::{OTHER_ACCOUNT}:role/dda-compile',
        OutputDataConfig={'S3OutputPath': 's3://line-2-models/out'},
        ResourceConfig={'InstanceType': 'ml.g4dn.xlarge', 'InstanceCount': 1, 'VolumeSizeInGB': 30},
        StoppingCondition={'MaxRuntimeInSeconds': 7200},
    )


@pytest.mark.usefixtures('aws')
async def test_two_accounts_keep_the_same_names_apart_and_a_denied_one_fails_alone(
    tmp_path: Path, database_url: str
) -> None:
    create_training_job('cracks')
    create_compilation_job('cracks-xavier-1', 'cracks', 'jetson-xavier')
    services = portal(tmp_path, database_url)
    seed_other_account(services)
    store = services.sync.store

    problem = await services.refreshes.run_once()

    assert problem is not None and problem.code == 'AccessDenied'  # line-3's, named with its code
    assert problem.message.startswith('line-3: ')
    jobs = store.read(queries.jobs.training_jobs)
    assert sorted((j.use_case, j.arn.split(':')[3], j.arn.split(':')[4]) for j in jobs) == [
        ('line-1', 'us-east-1', '123456789012'),
        ('line-2', 'eu-west-1', OTHER_ACCOUNT),
    ]
    assert {j.name for j in jobs} == {'cracks'}
    # the compilation of line-1's job stays line-1's: line-2's job of the same name has none
    assert [a.job_name for a in store.read(queries.jobs.attempts_for, 'cracks', 'line-1')] == [
        'cracks-xavier-1'
    ]
    assert store.read(queries.jobs.attempts_for, 'cracks', 'line-2') == []
    assert [j.use_case for j in store.read(queries.jobs.training_jobs, ['line-2'])] == ['line-2']

    places = store.freshness().places
    assert places['line-1'][SAGEMAKER].failed_at is None and places['line-1'][SAGEMAKER].last_success
    assert places['line-2'][SAGEMAKER].failed_at is None and places['line-2'][SAGEMAKER].last_success
    denied = places['line-3'][SAGEMAKER]
    assert denied.error_code == 'AccessDenied' and denied.last_success is None
    assert set(store.freshness().failed_places()) == {'line-3'}
    # each place counts its own calls; the portal's cost is their sum
    line_1, line_2, _ = (place.clients.counter for place in services.places)
    assert line_2 is not line_1 and line_2.by_operation['ListTrainingJobs'] == 1
    assert services.refreshes.aws_calls == sum(p.clients.counter.total for p in services.places)


@pytest.mark.usefixtures('aws')
async def test_a_change_in_one_account_never_touches_the_same_name_in_another(
    tmp_path: Path, database_url: str
) -> None:
    create_training_job('cracks', status='InProgress')
    services = portal(tmp_path, database_url)
    seed_other_account(services)
    other = sagemaker_backends[OTHER_ACCOUNT]['eu-west-1'].training_jobs['cracks']
    other.training_job_status = 'InProgress'
    store = services.sync.store
    await services.refreshes.run_once()
    before = {j.use_case: j for j in store.read(queries.jobs.training_jobs)}
    assert before['line-1'].status == before['line-2'].status == TrainingStatus.IN_PROGRESS

    other.training_job_status = 'Failed'  # line-2's job fails; line-1's trains on
    other.last_modified_time = naive_utc() + timedelta(milliseconds=1)
    told: list[Changed] = []
    store.changed.subscribe(told.append)
    await services.refreshes.run_once()
    await asyncio.sleep(0.1)  # the event hands the change on in a task
    # the pages hear of line-2's job by a key that says its place: line-1's job of the same name is not read
    jobs = frozenset().union(*(change.training_jobs for change in told))
    assert 'line-2|cracks' in jobs and not {'cracks', 'line-1|cracks'} & jobs

    after = {j.use_case: j for j in store.read(queries.jobs.training_jobs)}
    assert after['line-2'].status == TrainingStatus.FAILED
    assert after['line-1'].status == TrainingStatus.IN_PROGRESS
    assert after['line-1'].last_modified == before['line-1'].last_modified


@pytest.mark.usefixtures('aws')
async def test_compiling_in_a_use_case_uses_its_account_region_and_its_own_settings(
    tmp_path: Path, database_url: str
) -> None:
    create_training_job('cracks')
    services = portal(
        tmp_path,
        database_url,
        USE_CASES.replace(
            'external_id = "line-2-portal"',
            'external_id = "line-2-portal"\n'
            f'sagemaker_role_arn = "arn:aws:iam::{OTHER_ACCOUNT}:role/line-2-compile"\n'
            'compile_output_s3 = "s3://line-2-compiled/"',
        ),
    )
    seed_other_account(services)
    store = services.sync.store
    await services.refreshes.run_once()
    line_2 = services.actions.place('line-2')
    assert line_2.console.region == 'eu-west-1'

    with store.at('line-2'):  # as Actions runs it for an object of line-2
        outcome = line_2.compiler.start('cracks', ['jetson-xavier'], None, 'manual')

    assert not outcome.refused
    [created] = sagemaker_backends[OTHER_ACCOUNT]['eu-west-1'].compilation_jobs.values()
    assert created.role_arn == f'arn:aws:iam::{OTHER_ACCOUNT}:role/line-2-compile'
    assert created.output_config['S3OutputLocation'].startswith('s3://line-2-compiled/')
    assert not sagemaker_backends['123456789012']['us-east-1'].compilation_jobs  # line-1's account: none
    [attempt] = store.read(queries.jobs.attempts_for, 'cracks', 'line-2')
    assert attempt.job_name == created.compilation_job_name and attempt.use_case == 'line-2'
    assert store.read(queries.jobs.attempts_for, 'cracks', 'line-1') == []


@pytest.mark.usefixtures('aws')
async def test_a_slow_account_never_delays_the_others(tmp_path: Path, database_url: str) -> None:
    create_training_job('cracks')
    services = portal(tmp_path, database_url, USE_CASES.split('[use_cases.line-3]')[0])
    seed_other_account(services)
    services.refreshes.bound_seconds = 5.0  # line-1 refreshes well within it, even on a busy machine
    store = services.sync.store
    answer = threading.Event()
    line_2 = services.places[1]  # its account answers only once the test says so
    assert line_2.key == 'line-2'
    line_2.clients.sagemaker.meta.events.register(
        'before-call.sagemaker.ListTrainingJobs', lambda **_: answer.wait(30) and None
    )

    problem = await services.refreshes.run_once()

    assert problem is not None and problem.code == 'RefreshTimedOut' and 'line-2' in problem.message
    assert [j.use_case for j in store.read(queries.jobs.training_jobs)] == ['line-1']  # line-1's is in
    places = store.freshness().places
    assert places['line-1'][SAGEMAKER].last_success and places['line-1'][SAGEMAKER].failed_at is None
    assert places['line-2'][SAGEMAKER].error_code == 'RefreshTimedOut'

    answer.set()  # the account answers: the refresh under way finishes, and the next one is whole
    services.refreshes.bound_seconds = 60.0
    assert await services.refreshes.run_once() is None
    assert sorted(j.use_case for j in store.read(queries.jobs.training_jobs)) == ['line-1', 'line-2']
    assert store.freshness().failed_places() == {}


def test_a_bad_use_cases_file_stops_the_start_with_its_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / 'use-cases.toml'
    path.write_text('[use_cases.line-1]\nregion = "us-east-1"\nrole_arn = "not-a-role"\n')
    with pytest.raises(ValidationError, match=r'use_cases_file\n.*use-cases.toml, line 3: .*role_arn'):
        Settings(database_url='sqlite://', use_cases_file=path)


@pytest.mark.usefixtures('aws')
def test_a_place_refreshed_on_its_own_writes_its_rows_only(tmp_path: Path, database_url: str) -> None:
    create_training_job('cracks')
    services = portal(tmp_path, database_url)
    seed_other_account(services)
    line_2 = services.places[1]

    changed = line_2.sync.pull_and_apply(utcnow())  # as a bench or a test drives one place

    assert changed == {'cracks'}
    [job] = line_2.sync.store.read(queries.jobs.training_jobs)
    assert job.use_case == 'line-2' and f':{OTHER_ACCOUNT}:' in job.arn


@pytest.mark.usefixtures('aws')
@pytest.mark.parametrize('home_region', ['AWS_REGION', None], ids=['aws-region-only', 'no-home-region'])
async def test_the_role_is_assumed_with_aws_region_alone_or_no_home_region(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, home_region: str | None
) -> None:
    """AWS_REGION is how the AWS CLI and the other SDKs name the region, but botocore reads only
    AWS_DEFAULT_REGION: the portal's home session takes it, and STS AssumeRole runs in the home region, or
    in the place's own when the home has none (every use case names its region in the file)."""
    create_training_job('cracks')
    monkeypatch.delenv('AWS_DEFAULT_REGION')
    if home_region:
        monkeypatch.setenv(home_region, 'us-east-1')
        assert AwsClients().region_set and AwsClients().region == 'us-east-1'
    services = portal(tmp_path, database_url, USE_CASES.split('[use_cases.line-3]')[0])
    seed_other_account(services)

    problem = await services.refreshes.run_once()

    assert problem is None, problem
    jobs = services.sync.store.read(queries.jobs.training_jobs)
    assert sorted((j.use_case, j.arn.split(':')[3]) for j in jobs) == [
        ('line-1', 'us-east-1'),
        ('line-2', 'eu-west-1'),
    ]


@pytest.mark.usefixtures('aws')
async def test_a_denied_role_is_one_log_line_per_refresh_not_a_traceback(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    services = portal(tmp_path, database_url)
    caplog.set_level(logging.WARNING)

    problem = await services.refreshes.run_once()

    assert problem is not None and problem.code == 'AccessDenied'
    assert not [r for r in caplog.records if r.exc_info], [
        r.getMessage() for r in caplog.records if r.exc_info
    ]
    assert any('line-3' in r.getMessage() and 'AccessDenied' in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
