"""Starting compilations against moto: inputs, tags, never twice, retries, refusals, automatic compilation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.simulator import DemoSimulator
from dda_portal.domain.attempts import check_inputs
from dda_portal.domain.clock import utcnow
from dda_portal.domain.problems import AwsProblem, Invalid
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import Compiler, Sync, build
from dda_portal.store import Store
from tests.factories import (
    ROLE,
    backend,
    create_compilation_job,
    create_training_job,
    set_compilation_status,
    set_training_status,
)

INPUTS = check_inputs('PYTORCH', '1.8', '[1,3,224,224]')


def portal(database_url: str, **settings: object) -> tuple[Sync, Compiler]:
    config = Settings(database_url=database_url, sync_enabled=False, sagemaker_role_arn=ROLE, **settings)  # type: ignore[arg-type]
    store, clients, catalog = Store(database_url), AwsClients(), TargetCatalog.load()
    services = build(config, store, clients, catalog)
    return services.sync, services.compiler


def aws_jobs() -> dict[str, dict]:
    return {name: job.describe() for name, job in backend().compilation_jobs.items()}


def aws_tags(name: str) -> dict[str, str]:
    return {t['Key']: t['Value'] for t in backend().compilation_jobs[name].tags or []}


@pytest.mark.usefixtures('aws')
def test_start_creates_one_job_per_target_with_tags_and_target_config(database_url: str) -> None:
    create_training_job('bottle-caps')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())

    outcome = compiler.start('bottle-caps', ['jetson-xavier', 'x86_64-cpu'], INPUTS, 'manual')

    assert outcome.refused == {}
    assert outcome.started == ['bottle-caps-jetson-xavier-1', 'bottle-caps-x86-64-cpu-1']
    jobs = aws_jobs()
    assert set(jobs) == set(outcome.started)
    jetson = jobs['bottle-caps-jetson-xavier-1']
    assert jetson['OutputConfig']['TargetPlatform'] == {
        'Os': 'LINUX',
        'Arch': 'ARM64',
        'Accelerator': 'NVIDIA',
    }
    assert 'cuda-ver' in jetson['OutputConfig']['CompilerOptions']
    assert (
        jetson['OutputConfig']['S3OutputLocation']
        == 's3://dda-models/out/bottle-caps/compiled/bottle-caps-jetson-xavier-1/'
    )
    assert jetson['InputConfig'] == {
        'S3Uri': 's3://dda-models/out/bottle-caps/output/model.tar.gz',
        'DataInputConfig': '{"input0":[1,3,224,224]}',
        'Framework': 'PYTORCH',
        'FrameworkVersion': '1.8',
    }
    assert jetson['RoleArn'] == ROLE
    assert aws_tags('bottle-caps-x86-64-cpu-1') == {
        'dda-portal:training-job': 'bottle-caps',
        'dda-portal:target': 'x86_64-cpu',
        'dda-portal:origin': 'manual',
    }
    # the rows are there before any refresh, as Starting
    latest = {a.target_id: a for a in compiler.store.read(queries.jobs.latest_attempts, 'bottle-caps')}
    assert {t: (a.status, a.origin) for t, a in latest.items()} == {
        'jetson-xavier': ('Starting', 'manual'),
        'x86_64-cpu': ('Starting', 'manual'),
    }
    assert compiler.store.read(queries.jobs.training_job, 'bottle-caps').rollup == 'Compiling'  # type: ignore[union-attr]


@pytest.mark.usefixtures('aws')
def test_orin_is_compiled_through_target_platform_with_its_compiler_options(database_url: str) -> None:
    create_training_job('bottle-caps')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())

    outcome = compiler.start('bottle-caps', ['jetson-orin'], INPUTS, 'manual')

    assert outcome.refused == {}
    orin = aws_jobs()['bottle-caps-jetson-orin-1']['OutputConfig']
    assert orin['TargetPlatform'] == {'Os': 'LINUX', 'Arch': 'ARM64', 'Accelerator': 'NVIDIA'}
    assert 'TargetDevice' not in orin
    assert json.loads(orin['CompilerOptions']) == {
        'gpu-code': 'sm_87',
        'trt-ver': '8.5.2',
        'cuda-ver': '11.4',
    }
    # read back from SageMaker, the job is recognised as Orin (not Xavier, which shares its platform)
    sync.pull_and_apply(utcnow())
    [attempt] = compiler.store.read(queries.jobs.latest_attempts, 'bottle-caps')
    assert attempt.target_id == 'jetson-orin'


@pytest.mark.usefixtures('aws')
def test_second_click_does_not_start_a_duplicate_job(database_url: str) -> None:
    create_training_job('bottle-caps')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())
    compiler.start('bottle-caps', ['arm64-cpu'], INPUTS, 'manual')

    again = compiler.start('bottle-caps', ['arm64-cpu'], INPUTS, 'manual')

    assert again.started == []
    assert again.refused == {'arm64-cpu': Invalid('Already compiling (attempt 1 is Starting).')}
    assert list(aws_jobs()) == ['bottle-caps-arm64-cpu-1']


@pytest.mark.usefixtures('aws')
def test_two_simultaneous_requests_create_exactly_one_job(database_url: str) -> None:
    create_training_job('bottle-caps')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())
    _, other_browser = portal(database_url)  # a second portal object on the same database
    barrier = threading.Barrier(4)
    outcomes = []

    def click(who: Compiler) -> None:
        barrier.wait()
        outcomes.append(who.start('bottle-caps', ['x86_64-cpu'], INPUTS, 'manual'))

    threads = [
        threading.Thread(target=click, args=(c,)) for c in (compiler, compiler, other_browser, other_browser)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert list(aws_jobs()) == ['bottle-caps-x86-64-cpu-1']
    assert sum(len(o.started) for o in outcomes) == 1
    assert sum(len(o.refused) for o in outcomes) == 3
    assert len(compiler.store.read(queries.jobs.attempts_for, 'bottle-caps')) == 1


@pytest.mark.usefixtures('aws')
def test_retry_after_failure_is_attempt_two_and_history_stays(database_url: str) -> None:
    create_training_job('weld')
    create_compilation_job(
        'weld-x86-64-cpu-1', 'weld', 'x86_64-cpu', 'FAILED', 'ClientError: InputConfiguration'
    )
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())

    outcome = compiler.start('weld', ['x86_64-cpu'], INPUTS, 'manual')

    assert outcome.started == ['weld-x86-64-cpu-2']
    attempts = compiler.store.read(queries.jobs.attempts_for, 'weld')
    assert [(a.attempt, a.status) for a in attempts] == [(1, 'Failed'), (2, 'Starting')]


@pytest.mark.usefixtures('aws')
def test_completed_target_of_an_outside_backend_is_not_compiled_again(database_url: str) -> None:
    create_training_job('weld')
    create_compilation_job('nightly-weld-build', 'weld', 'arm64-cpu')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())
    outcome = compiler.start('weld', ['arm64-cpu'], INPUTS, 'manual')
    assert outcome.refused == {'arm64-cpu': Invalid('Already compiled (attempt 1).')}


@pytest.mark.usefixtures('aws')
def test_server_rechecks_training_status_with_sagemaker(database_url: str) -> None:
    create_training_job('paint')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())  # the store says Completed …
    backend().training_jobs['paint'].training_job_status = 'Stopped'  # … SageMaker no longer does
    outcome = compiler.start('paint', ['x86_64-cpu'], INPUTS, 'manual')
    assert outcome.refused == {
        'x86_64-cpu': Invalid(
            'SageMaker reports the training job as Stopped; only a Completed job can be compiled.'
        )
    }
    assert aws_jobs() == {}


@pytest.mark.usefixtures('aws')
def test_without_a_role_the_user_is_told_what_to_set(database_url: str) -> None:
    create_training_job('paint')
    sync, compiler = portal(database_url)
    compiler.settings = compiler.settings.model_copy(update={'sagemaker_role_arn': None})
    sync.pull_and_apply(utcnow())
    outcome = compiler.start('paint', ['x86_64-cpu'], INPUTS, 'manual')
    assert isinstance(outcome.refused['x86_64-cpu'], Invalid)
    assert 'DDA_SAGEMAKER_ROLE_ARN' in str(outcome.refused['x86_64-cpu'])
    assert aws_jobs() == {}


@pytest.mark.usefixtures('aws')
@pytest.mark.parametrize(
    ('code', 'message'),
    [
        ('AccessDeniedException', 'User is not authorized to perform: iam:PassRole'),
        ('ValidationException', 'Input shape is invalid'),
        ('ThrottlingException', 'Rate exceeded'),
    ],
)
def test_aws_refusal_is_reported_and_nothing_half_written_stays(
    database_url: str, code: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_training_job('paint')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())

    def refuse(*args: object, **kwargs: object) -> str:
        raise ClientError({'Error': {'Code': code, 'Message': message}}, 'CreateCompilationJob')

    monkeypatch.setattr(compiler.sagemaker, 'create_compilation_job', refuse)
    outcome = compiler.start('paint', ['x86_64-cpu'], INPUTS, 'manual')

    assert outcome.refused == {'x86_64-cpu': AwsProblem(code, message, 'CreateCompilationJob')}
    assert outcome.retry_later == ({'x86_64-cpu'} if code == 'ThrottlingException' else set())
    assert compiler.store.read(queries.jobs.attempts_for, 'paint') == []
    assert compiler.store.read(queries.jobs.training_job, 'paint').rollup == 'Not compiled'  # type: ignore[union-attr]


@pytest.mark.usefixtures('aws')
def test_training_tags_override_the_defaults(database_url: str) -> None:
    create_training_job('seg-model')
    arn = backend().training_jobs['seg-model'].arn
    import boto3

    boto3.client('sagemaker', region_name='us-east-1').add_tags(
        ResourceArn=arn,
        Tags=[
            {'Key': 'dda-portal:input-shape', 'Value': '[1,3,512,512]'},
            {'Key': 'dda-portal:framework-version', 'Value': '2.0'},
        ],
    )
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())
    defaults = compiler.defaults_for('seg-model')
    assert (defaults.framework, defaults.framework_version, defaults.input_shape) == (
        'PYTORCH',
        '2.0',
        '[1,3,512,512]',
    )


@pytest.mark.usefixtures('aws')
def test_training_job_reaching_completed_is_compiled_automatically_once(database_url: str) -> None:
    create_training_job('cracks', status='InProgress')
    create_training_job('old-history')  # already Completed when first seen: never auto-compiled
    sync, _ = portal(database_url, auto_compile_targets='jetson-xavier,x86_64-cpu')
    sync.cycle(utcnow())
    assert aws_jobs() == {}

    set_training_status('cracks', 'Completed')
    sync.cycle(utcnow())

    assert set(aws_jobs()) == {'cracks-jetson-xavier-1', 'cracks-x86-64-cpu-1'}
    assert aws_tags('cracks-jetson-xavier-1')['dda-portal:origin'] == 'auto'

    set_compilation_status('cracks-x86-64-cpu-1', 'FAILED', 'ClientError: boom')
    restarted, _ = portal(database_url, auto_compile_targets='jetson-xavier,x86_64-cpu')
    set_training_status('cracks', 'Completed')  # touched again; a restart must not compile again
    restarted.cycle(utcnow())
    assert set(aws_jobs()) == {'cracks-jetson-xavier-1', 'cracks-x86-64-cpu-1'}


@pytest.mark.usefixtures('aws')
def test_auto_compile_skips_targets_already_compiled_elsewhere(database_url: str) -> None:
    create_training_job('cracks', status='InProgress')
    sync, _ = portal(database_url, auto_compile_targets='jetson-xavier,x86_64-cpu')
    sync.cycle(utcnow())
    set_training_status('cracks', 'Completed')
    create_compilation_job('cracks-external-x86', 'cracks', 'x86_64-cpu')
    sync.cycle(utcnow())
    assert set(aws_jobs()) == {'cracks-external-x86', 'cracks-jetson-xavier-1'}


@pytest.mark.usefixtures('aws')
def test_reservation_lost_in_a_crash_is_marked_failed_not_left_starting(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_training_job('crashy')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())
    reserved = compiler.store.write(
        queries.attempts.reserve_attempt,
        'crashy',
        'x86_64-cpu',
        'x86_64 CPU',
        lambda n: f'crashy-x86-64-cpu-{n}',
        'manual',
    )
    assert not isinstance(reserved, type(None))
    from datetime import timedelta

    import dda_portal.services.sync as sync_module

    monkeypatch.setattr(sync_module, 'utcnow', lambda: utcnow() + timedelta(minutes=5))
    changed = sync.act(frozenset())
    assert changed == {'crashy'}
    attempt = compiler.store.read(queries.jobs.latest_attempts, 'crashy')[0]
    assert attempt.status == 'Failed'
    assert 'stopped before SageMaker accepted' in (attempt.failure_reason or '')
    assert compiler.start('crashy', ['x86_64-cpu'], INPUTS, 'manual').started == ['crashy-x86-64-cpu-2']


@pytest.fixture
def stop_emulation(aws: None) -> Iterator[DemoSimulator]:
    """moto 5.2.5 has no StopCompilationJob; the demo's emulation of it stands in."""
    simulator = DemoSimulator()
    simulator.install_stop_compilation_job()
    yield simulator
    simulator.uninstall()


def test_stop_moves_a_running_attempt_to_stopping_then_stopped(
    database_url: str, stop_emulation: DemoSimulator
) -> None:
    create_training_job('cracks')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())
    [name] = compiler.start('cracks', ['arm64-cpu'], INPUTS, 'manual').started
    set_compilation_status(name, 'INPROGRESS')
    sync.pull_and_apply(utcnow())

    assert compiler.stop(name) == 'cracks'
    assert backend().compilation_jobs[name].compilation_job_status == 'STOPPING'
    assert compiler.store.read(queries.jobs.latest_attempts, 'cracks')[0].status == 'Stopping'
    stop_emulation.step()
    sync.pull_and_apply(utcnow())
    assert compiler.store.read(queries.jobs.latest_attempts, 'cracks')[0].status == 'Stopped'
    # a stopped target may be started again, as attempt 2
    assert compiler.start('cracks', ['arm64-cpu'], INPUTS, 'manual').started == ['cracks-arm64-cpu-2']


def test_stopping_a_finished_job_reports_aws_refusal(
    database_url: str, stop_emulation: DemoSimulator
) -> None:
    create_training_job('cracks')
    create_compilation_job('cracks-arm64-cpu-1', 'cracks', 'arm64-cpu')
    sync, compiler = portal(database_url)
    sync.pull_and_apply(utcnow())
    with pytest.raises(AwsProblem) as refused:
        compiler.stop('cracks-arm64-cpu-1')
    assert refused.value.code == 'ValidationException'
    assert compiler.store.read(queries.jobs.latest_attempts, 'cracks')[0].status == 'Completed'
