import pytest

from dda_portal.domain.status import (
    LOOKS,
    CompilationStatus,
    Rollup,
    TrainingStatus,
    compilation_status_from_aws,
    compiled_count,
    rollup_for,
    training_status_from_aws,
)

C = CompilationStatus


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        ('STARTING', C.STARTING),
        ('INPROGRESS', C.IN_PROGRESS),
        ('STOPPING', C.STOPPING),
        ('STOPPED', C.STOPPED),
        ('COMPLETED', C.COMPLETED),
        ('FAILED', C.FAILED),
    ],
)
def test_every_documented_compilation_status_maps_to_its_word(raw: str, expected: CompilationStatus) -> None:
    assert compilation_status_from_aws(raw) is expected


@pytest.mark.parametrize('raw', ['InProgress', 'inprogress', 'DELETED', '', None, 42])
def test_anything_else_is_unknown_not_a_crash(raw: object) -> None:
    # the reference portal compared 'InProgress' with 'INPROGRESS' and never refreshed
    assert compilation_status_from_aws(raw) is C.UNKNOWN


def test_unknown_status_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    compilation_status_from_aws('BRAND_NEW_STATE')
    compilation_status_from_aws('BRAND_NEW_STATE')
    assert sum('BRAND_NEW_STATE' in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        ('InProgress', TrainingStatus.IN_PROGRESS),
        ('Completed', TrainingStatus.COMPLETED),
        ('Failed', TrainingStatus.FAILED),
        ('Stopping', TrainingStatus.STOPPING),
        ('Stopped', TrainingStatus.STOPPED),
        ('COMPLETED', TrainingStatus.UNKNOWN),
        (None, TrainingStatus.UNKNOWN),
    ],
)
def test_training_statuses(raw: object, expected: TrainingStatus) -> None:
    assert training_status_from_aws(raw) is expected


@pytest.mark.parametrize(
    ('latest', 'expected'),
    [
        ([], Rollup.NOT_COMPILED),
        ([C.COMPLETED], Rollup.COMPILED),
        ([C.COMPLETED, C.COMPLETED, C.COMPLETED], Rollup.COMPILED),
        ([C.COMPLETED, C.STARTING], Rollup.COMPILING),
        ([C.FAILED, C.IN_PROGRESS], Rollup.COMPILING),
        ([C.FAILED, C.STOPPING], Rollup.COMPILING),
        ([C.COMPLETED, C.FAILED], Rollup.FAILED),
        ([C.FAILED], Rollup.FAILED),
        ([C.FAILED, C.STOPPED], Rollup.FAILED),
        ([C.COMPLETED, C.STOPPED], Rollup.NOT_COMPILED),
        ([C.STOPPED], Rollup.NOT_COMPILED),
        ([C.UNKNOWN], Rollup.NOT_COMPILED),
        ([C.COMPLETED, C.UNKNOWN], Rollup.NOT_COMPILED),
    ],
)
def test_rollup_uses_design_precedence(latest: list[CompilationStatus], expected: Rollup) -> None:
    assert rollup_for(latest) is expected


def test_rollup_words_are_the_ones_users_read() -> None:
    assert [r.value for r in Rollup] == ['Not compiled', 'Compiling', 'Compiled', 'Compilation failed']


@pytest.mark.parametrize(
    ('latest', 'text'),
    [
        ([], '0/0 compiled'),
        ([C.COMPLETED, C.FAILED, C.IN_PROGRESS], '1/3 compiled'),
        ([C.COMPLETED, C.COMPLETED], '2/2 compiled'),
    ],
)
def test_compiled_count(latest: list[CompilationStatus], text: str) -> None:
    assert str(compiled_count(latest)) == text


def test_every_state_has_an_icon() -> None:
    for word in [*CompilationStatus, *TrainingStatus, *Rollup]:
        assert LOOKS[word].icon
