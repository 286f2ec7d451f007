import json

import pytest

from dda_portal.domain.attempts import (
    InvalidInput,
    check_inputs,
    is_role_arn,
    is_s3_uri,
    may_start,
    parse_input_shape,
)
from dda_portal.domain.status import CompilationStatus as C


def test_first_attempt_of_a_completed_job_may_start() -> None:
    decision = may_start('Completed', None)
    assert decision.allowed and decision.attempt == 1


@pytest.mark.parametrize('training', ['In progress', 'Failed', 'Stopped', 'Stopping', 'Unknown'])
def test_only_completed_training_jobs_compile(training: str) -> None:
    decision = may_start(training, None)
    assert not decision.allowed
    assert training in decision.reason


@pytest.mark.parametrize('latest', [C.STARTING, C.IN_PROGRESS, C.STOPPING, C.COMPLETED, C.UNKNOWN])
def test_no_second_live_attempt(latest: C) -> None:
    decision = may_start('Completed', latest, 2)
    assert not decision.allowed
    assert 'attempt 2' in decision.reason


@pytest.mark.parametrize('latest', [C.FAILED, C.STOPPED])
def test_retry_after_failed_or_stopped_is_the_next_attempt(latest: C) -> None:
    decision = may_start('Completed', latest, 3)
    assert decision.allowed and decision.attempt == 4


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('[1,3,224,224]', {'input0': [1, 3, 224, 224]}),
        (' [1, 3, 512, 512] ', {'input0': [1, 3, 512, 512]}),
        (
            '{"data": [1,3,224,224], "mask": [1,1,224,224]}',
            {'data': [1, 3, 224, 224], 'mask': [1, 1, 224, 224]},
        ),
    ],
)
def test_input_shape_becomes_data_input_config(text: str, expected: dict) -> None:
    assert json.loads(parse_input_shape(text)) == expected


@pytest.mark.parametrize(
    'text',
    [
        '',
        '[]',
        '[1,-3]',
        '[1,0]',
        '[1.5,3]',
        '["1"]',
        '[true]',
        'abc',
        '{}',
        '{"x": 3}',
        '1',
        '[' + '1,' * 600 + '1]',
    ],
)
def test_bad_input_shapes_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InvalidInput, match='Input shape'):
        parse_input_shape(text)


def test_check_inputs_normalises_and_validates() -> None:
    inputs = check_inputs('pytorch', '1.8', '[1,3,224,224]')
    assert (inputs.framework, inputs.framework_version) == ('PYTORCH', '1.8')
    with pytest.raises(InvalidInput, match='Framework must be'):
        check_inputs('caffe', '1.0', '[1]')
    with pytest.raises(InvalidInput, match='Framework version'):
        check_inputs('PYTORCH', 'latest', '[1]')


def test_role_and_s3_checks() -> None:
    assert is_role_arn('arn:aws:iam::123456789012:role/dda-compile')
    assert not is_role_arn('dda-compile')
    assert is_s3_uri('s3://my-bucket/compiled/')
    assert not is_s3_uri('https://my-bucket/')


def test_timings_of_a_finished_attempt() -> None:
    from datetime import UTC, datetime, timedelta

    from dda_portal.domain.attempts import timings

    created = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    result = timings(
        created,
        created + timedelta(seconds=30),
        created + timedelta(minutes=5, seconds=30),
        created + timedelta(hours=1),
        900,
    )
    assert (result.queued, result.compiling, result.budget_share) == (30.0, 300.0, 300 / 900)


def test_timings_while_running_and_waiting() -> None:
    from datetime import UTC, datetime, timedelta

    from dda_portal.domain.attempts import timings

    created = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    now = created + timedelta(minutes=2)
    running = timings(created, created + timedelta(minutes=1), None, now, 600)
    assert (running.queued, running.compiling, running.budget_share) == (60.0, 60.0, 0.1)
    waiting = timings(created, None, None, now, None)
    assert (waiting.queued, waiting.compiling, waiting.budget_share) == (120.0, None, None)
