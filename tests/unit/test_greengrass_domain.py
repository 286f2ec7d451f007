from datetime import UTC, datetime, timedelta

import pytest

from dda_portal.domain.greengrass import (
    ComponentState,
    component_name,
    component_state_from_aws,
    device_health,
    missing_architectures,
    model_recipe,
    next_version,
)


@pytest.mark.parametrize(
    ('raw', 'state'),
    [
        ('REQUESTED', ComponentState.REQUESTED),
        ('DEPLOYABLE', ComponentState.DEPLOYABLE),
        ('FAILED', ComponentState.FAILED),
        ('weird', ComponentState.UNKNOWN),
        (None, ComponentState.UNKNOWN),
    ],
)
def test_component_states(raw: object, state: ComponentState) -> None:
    assert component_state_from_aws(raw) is state


def test_component_name_follows_the_dda_scheme_and_greengrass_characters() -> None:
    assert (
        component_name('model-{name}-{target}', 'bottle caps/v2', 'x86_64-cpu')
        == 'model-bottle-caps-v2-x86_64-cpu'
    )
    assert len(component_name('model-{name}-{target}', 'x' * 300, 'arm64-cpu')) == 128


@pytest.mark.parametrize(
    ('existing', 'expected'),
    [([], '1.0.0'), (['1.0.0'], '2.0.0'), (['1.0.0', '3.0.0', '2.1.0'], '4.0.0'), (['junk'], '1.0.0')],
)
def test_versions_count_up(existing: list[str], expected: str) -> None:
    assert next_version(existing) == expected


def test_recipe_points_at_the_compiled_model_for_one_architecture() -> None:
    recipe = model_recipe('model-a-jetson-xavier', '1.0.0', 's3://b/compiled/a.tar.gz', 'aarch64', 'from a')
    manifest = recipe['Manifests'][0]
    assert manifest['Platform'] == {'os': 'linux', 'architecture': 'aarch64'}
    assert manifest['Artifacts'][0]['URI'] == 's3://b/compiled/a.tar.gz'
    assert (recipe['ComponentName'], recipe['ComponentVersion']) == ('model-a-jetson-xavier', '1.0.0')


def test_device_health_marks_reports_older_than_a_day_as_stale() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert device_health('HEALTHY', now - timedelta(hours=2), now) == device_health('HEALTHY', now, now)
    assert not device_health('HEALTHY', now - timedelta(hours=2), now).stale
    assert device_health('HEALTHY', now - timedelta(hours=30), now).stale
    assert device_health('UNHEALTHY', None, now).word == 'Unhealthy'
    assert device_health(None, None, now).stale


def test_missing_architectures() -> None:
    assert missing_architectures(['aarch64', 'amd64', 'aarch64', ''], ['aarch64']) == ['amd64']
    assert missing_architectures([], []) == []
