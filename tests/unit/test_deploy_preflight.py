"""The deployment plan and the pre-flight: every fault named in one call, with severity and what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dda_portal.domain.deploy import (
    DeviceFacts,
    PreflightInputs,
    Severity,
    _platform_findings,
    client_token,
    plan,
    platform_mismatch,
    preflight,
    target_label,
    thing_of_target,
)

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
GROUP = 'arn:aws:iot:us-east-1:123456789012:thinggroup/line-1'
MODEL = 's3://models/weld/model-jetson.tar.gz'


def recipe(
    name: str, version: str, architecture: str, uri: str = MODEL, **dependencies: str
) -> dict[str, Any]:
    return {
        'RecipeFormatVersion': '2020-01-25',
        'ComponentName': name,
        'ComponentVersion': version,
        'ComponentDependencies': {d: {'VersionRequirement': r} for d, r in dependencies.items()},
        'Manifests': [
            {'Platform': {'os': 'linux', 'architecture': architecture}, 'Artifacts': [{'Uri': uri}]}
        ],
    }


def device(name: str, architecture: str = 'aarch64', *, ago: timedelta = timedelta(minutes=5)) -> DeviceFacts:
    return DeviceFacts(name, architecture, 'linux', 'HEALTHY', NOW - ago)


def test_the_plan_keeps_the_other_components_and_replaces_the_older_version() -> None:
    current = {'model-weld': '1.0.0', 'aws.greengrass.LogManager': '2.3.7', 'app-camera': '3.0.0'}

    made = plan(GROUP, current, 'model-weld', '1.1.0', 'dep-1')

    assert made.after == {'model-weld': '1.1.0', 'aws.greengrass.LogManager': '2.3.7', 'app-camera': '3.0.0'}
    assert made.changes == [('model-weld', '1.0.0', '1.1.0')]
    assert made.removed == {}
    assert client_token(made) == client_token(plan(GROUP, dict(current), 'model-weld', '1.1.0', 'dep-1'))
    assert client_token(made) != client_token(plan(GROUP, current, 'model-weld', '1.1.0', 'dep-2'))
    assert len(client_token(made)) <= 64


def test_the_preflight_names_every_fault_at_once() -> None:
    current = {'model-weld': '1.0.0', 'app-inspect': '2.0.0', 'lib-camera': '1.0.0'}
    made = plan(GROUP, current, 'model-weld', '2.0.0', 'dep-1', remove=['lib-camera'])
    inputs = PreflightInputs(
        plan=made,
        recipes={
            ('model-weld', '2.0.0'): recipe(
                'model-weld', '2.0.0', 'aarch64', **{'lib-dlr': '>=1.8.0 <2.0.0'}
            ),
            ('app-inspect', '2.0.0'): recipe('app-inspect', '2.0.0', '*', **{'lib-camera': '^1.0.0'}),
        },
        artifacts={MODEL: 'there is no object there'},
        devices=[
            device('jetson-01'),
            device('ipc-01', 'amd64'),
            device('jetson-03', ago=timedelta(hours=31)),
        ],
        published={'lib-dlr': ['1.6.0', '2.1.0']},
        now=NOW,
    )

    found = preflight(inputs)
    text = [f.what for f in found]

    blocking = [f.what for f in found if f.severity is Severity.BLOCKS]
    warning = [f.what for f in found if f.severity is Severity.WARNS]
    assert any(MODEL in t and 'no object' in t for t in blocking), text  # missing artifact
    assert any('ipc-01' in t and 'amd64' in t for t in blocking), text  # platform mismatch
    assert any('lib-dlr' in t and '>=1.8.0 <2.0.0' in t and '1.6.0, 2.1.0' in t for t in blocking), text
    assert any('app-inspect' in t and 'lib-camera' in t and 'removes' in t for t in blocking), text
    assert any('jetson-03' in t and 'not reported for a day' in t for t in warning), text
    assert not any('jetson-01' in t for t in text)
    assert len(found) == 5
    assert all(f.todo for f in found)
    assert [f.severity for f in found] == sorted(
        (f.severity for f in found), key=lambda s: s is not Severity.BLOCKS
    )


def test_a_clean_deployment_has_no_findings_and_a_satisfied_dependency_passes() -> None:
    made = plan(GROUP, {'lib-dlr': '1.9.0'}, 'model-weld', '2.0.0', None)
    inputs = PreflightInputs(
        plan=made,
        recipes={('model-weld', '2.0.0'): recipe('model-weld', '2.0.0', 'aarch64', **{'lib-dlr': '^1.8.0'})},
        artifacts={MODEL: None},
        devices=[device('jetson-01'), device('jetson-02')],
        published={},
        now=NOW,
    )

    assert preflight(inputs) == []


def test_an_empty_group_blocks_and_an_unhealthy_device_warns() -> None:
    made = plan(GROUP, {}, 'model-weld', '2.0.0', None)
    recipes = {('model-weld', '2.0.0'): recipe('model-weld', '2.0.0', 'aarch64')}
    empty = preflight(PreflightInputs(made, recipes, {MODEL: None}, [], {}, NOW))
    sick = DeviceFacts('jetson-01', 'aarch64', 'linux', 'UNHEALTHY', NOW)
    unhealthy = preflight(PreflightInputs(made, recipes, {MODEL: None}, [sick], {}, NOW))

    assert [f.severity for f in empty] == [Severity.BLOCKS] and 'no Greengrass core device' in empty[0].what
    assert [f.severity for f in unhealthy] == [Severity.WARNS] and 'unhealthy' in unhealthy[0].what


def test_platforms_and_targets() -> None:
    assert platform_mismatch(recipe('m', '1.0.0', 'aarch64'), device('a')) is None
    assert platform_mismatch(recipe('m', '1.0.0', 'aarch64'), device('b', 'amd64')) == (
        'device is amd64; this version is built for aarch64'
    )
    assert platform_mismatch(recipe('m', '1.0.0', '/aarch64|amd64/'), device('b', 'amd64')) is None
    assert platform_mismatch({'Manifests': []}, device('b', 'amd64')) is None
    assert thing_of_target('arn:aws:iot:us-east-1:1:thing/jetson-01') == 'jetson-01'
    assert thing_of_target(GROUP) is None
    assert target_label(GROUP) == 'thing group line-1'


def test_the_pre_flight_judges_platforms_as_the_matrix_does() -> None:
    """Every Platform key counts (an accelerator the thing's attributes state), and a fact the device does not
    state warns instead of passing or blocking."""
    gpu = recipe('m', '1.0.0', 'aarch64')
    gpu['Manifests'][0]['Platform']['accelerator'] = 'nvidia'
    plain = DeviceFacts('cpu-box', 'aarch64', 'linux', 'HEALTHY', NOW, {'accelerator': 'none'})
    silent = DeviceFacts('quiet-box', 'aarch64', 'linux', 'HEALTHY', NOW, {})
    jetson = DeviceFacts('jetson', 'aarch64', 'linux', 'HEALTHY', NOW, {'accelerator': 'nvidia'})
    assert platform_mismatch(gpu, jetson) is None
    assert 'accelerator' in (platform_mismatch(gpu, plain) or '')
    assert platform_mismatch(gpu, silent) is None
    found = _platform_findings('m', '1.0.0', gpu, [plain, silent, jetson])
    assert [(f.severity, f.what.split(':')[0]) for f in found] == [
        (Severity.BLOCKS, 'm 1.0.0 cannot run on cpu-box'),
        (Severity.WARNS, 'Whether m 1.0.0 runs on quiet-box is not known'),
    ]
