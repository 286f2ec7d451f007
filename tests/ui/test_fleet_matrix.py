"""`/fleet`: the compatibility matrix shows the right words and reasons, filters by URL, pages its columns and
follows a change without a reload."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from nicegui import ui
from nicegui.testing import User

from dda_portal.domain.changes import Changed
from dda_portal.domain.clock import utcnow
from dda_portal.domain.greengrass import ComponentState
from dda_portal.pages.feeds import settled
from dda_portal.queries.deployments import RolloutFacts
from dda_portal.queries.refresh import CycleResult
from dda_portal.tables import ComponentVersion, CoreDevice, Deployment, InstalledComponent
from tests.ui.records import store

REPORTED = utcnow() - timedelta(hours=1)
ORIN = 'model-weld-jetson-orin'
GPU = [{'os': 'linux', 'architecture': 'aarch64', 'accelerator': 'nvidia'}]
JETSON = {'accelerator': 'nvidia', 'jetpack': '5.1.2', 'cuda': '11.4'}
NANO = {'accelerator': 'nvidia', 'jetpack': '4.6', 'cuda': '10.2'}
Device = tuple[str, str, dict[str, str] | None]  # name, architecture, thing attributes (None: not read)


def version(
    name: str, target: str, platforms: list[dict[str, str]], minutes_ago: int = 10
) -> ComponentVersion:
    return ComponentVersion(
        arn=f'arn:aws:greengrass:us-east-1:123456789012:components:{name}:versions:1.0.0',
        component_name=name,
        component_version='1.0.0',
        state=ComponentState.DEPLOYABLE,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        training_job_name='weld',
        target_id=target,
        platforms=json.dumps(platforms),
        origin='portal',
    )


def refresh(devices: list[Device], versions: list[ComponentVersion], running: dict[str, str]) -> Changed:
    now = utcnow()
    changed = store().apply(
        CycleResult(
            started_at=now,
            aws_calls=0,
            component_versions=versions,
            devices=[
                CoreDevice(
                    thing_name=name,
                    status='HEALTHY',
                    architecture=architecture,
                    platform='linux',
                    last_status_update=REPORTED,
                    refreshed_at=now,
                    thing_attributes=None if attributes is None else json.dumps(attributes),
                    thing_read_for=REPORTED,
                )
                for name, architecture, attributes in devices
            ],
            installed=[
                InstalledComponent(
                    thing_name=thing,
                    component_name=component,
                    component_version='1.0.0',
                    lifecycle_state='RUNNING',
                    last_status_change=REPORTED,
                    last_reported=REPORTED,
                )
                for thing, component in running.items()
            ],
        )
    )
    store().changed.emit(changed)
    return changed


FLEET: list[Device] = [
    ('line1-orin', 'aarch64', JETSON),
    ('line2-ipc', 'amd64', {}),
    ('line3-nano', 'aarch64', NANO),
    ('line4-new', 'aarch64', None),
]


def versions() -> list[ComponentVersion]:
    return [
        version(ORIN, 'jetson-orin', GPU),
        version('model-weld-x86-64-cpu', 'x86_64-cpu', [{'os': 'linux', 'architecture': 'amd64'}], 20),
    ]


def grid(user: User) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The devices shown (column labels) and each row's cells by device name, by component name."""
    table = next(e for e in user.find(marker='matrix-table').elements if isinstance(e, ui.table))
    devices = {c['name']: c['label'] for c in table.columns if c['name'] != 'release'}
    rows = {
        row['component']: {devices[key]: value for key, value in row.items() if key in devices}
        for row in table.rows
    }
    return list(devices.values()), rows


async def test_cells_say_running_compatible_incompatible_unknown_with_reasons(user: User) -> None:
    refresh(FLEET, versions(), {'line1-orin': ORIN})
    await user.open('/fleet')
    await user.should_see('Compatibility matrix')
    devices, rows = grid(user)
    assert devices == ['line1-orin', 'line2-ipc', 'line3-nano', 'line4-new']
    orin = rows[ORIN]
    assert {name: cell['w'] for name, cell in orin.items()} == {
        'line1-orin': 'Running',
        'line2-ipc': 'Incompatible',
        'line3-nano': 'Incompatible',
        'line4-new': 'Unknown',
    }
    assert orin['line2-ipc']['r'] == 'device is amd64; this version is built for aarch64'
    assert (
        orin['line3-nano']['r']
        == 'needs JetPack ≥ 5.0; device has JetPack 4.6; needs CUDA ≥ 11.4; device has CUDA 10.2'
    )
    assert orin['line4-new']['r'] == (
        "the device's IoT thing attributes are not read yet (accelerator, JetPack, CUDA unknown)"
    )
    assert (orin['line1-orin']['i'], orin['line2-ipc']['i']) == ('play_circle', 'block')
    x86 = rows['model-weld-x86-64-cpu']
    assert x86['line2-ipc']['w'] == 'Compatible'
    assert x86['line1-orin']['r'] == 'device is aarch64; this version is built for amd64'
    await user.should_see('Versions 1–2 of 2 · Devices 1–4 of 4')
    table = next(e for e in user.find(marker='matrix-table').elements if isinstance(e, ui.table))
    assert 'matrix-compact' not in table.classes  # four devices: whole words in every cell
    await user.should_not_see(marker='matrix-legend')


async def test_a_reflashed_device_turns_compatible_without_reload(user: User) -> None:
    refresh(FLEET, versions(), {'line1-orin': ORIN})
    await user.open('/fleet')
    assert grid(user)[1][ORIN]['line3-nano']['w'] == 'Incompatible'

    reflashed = [(n, a, JETSON if n == 'line3-nano' else t) for n, a, t in FLEET]
    changed = refresh(reflashed, [], {'line1-orin': ORIN})
    assert changed.devices == {'line3-nano'}
    await settled()

    assert grid(user)[1][ORIN]['line3-nano'] == {
        'w': 'Compatible',
        's': 'OK',
        'i': 'check_circle_outline',
        'c': 'primary',
        'r': '',
    }
    # a new version arrives too
    refresh(reflashed, [version('model-weld-jetson-xavier', 'jetson-xavier', GPU, 1)], {'line1-orin': ORIN})
    await settled()
    assert grid(user)[1]['model-weld-jetson-xavier']['line3-nano']['w'] == 'Compatible'


async def test_filters_are_in_the_url(user: User) -> None:
    refresh(FLEET, versions(), {})
    await user.open('/fleet?target=x86_64-cpu&device=line2')
    devices, rows = grid(user)
    assert (devices, list(rows)) == (['line2-ipc'], ['model-weld-x86-64-cpu'])
    await user.should_see('Versions 1–1 of 1 matching (of 2) · Devices 1–1 of 1 matching (of 4)')
    await user.open('/fleet?job=someone-else')
    assert grid(user)[1] == {}


async def test_a_large_fleet_shows_a_page_of_devices_at_a_time(user: User) -> None:
    fleet: list[Device] = [(f'line-{i:04d}', 'aarch64', JETSON) for i in range(60)]
    refresh(fleet, versions(), {})
    await user.open('/fleet')
    devices, _ = grid(user)
    assert devices == [f'line-{i:04d}' for i in range(25)]
    await user.should_see('Devices 1–25 of 60')
    # so many devices fit a window only with short words, explained above the grid (whole words on hover)
    table = next(e for e in user.find(marker='matrix-table').elements if isinstance(e, ui.table))
    assert 'matrix-compact' in table.classes
    await user.should_see('Run Running · Dep Deployed, not yet running · OK Compatible')
    user.find(marker='matrix-devices-next').click()
    await settled()
    devices, _ = grid(user)
    assert devices[0] == 'line-0025'
    await user.should_see('Devices 26–50 of 60')
    await user.open('/fleet?dpage=3')
    assert grid(user)[0] == [f'line-{i:04d}' for i in range(50, 60)]


async def test_the_devices_table_shows_each_devices_platform_facts(user: User) -> None:
    refresh(FLEET, versions(), {})
    await user.open('/devices')
    table = next(e for e in user.find(marker='devices-table').elements if isinstance(e, ui.table))
    platforms = {row['device']: row['platform'] for row in table.rows}
    assert platforms == {
        'line1-orin': 'aarch64 · linux · accelerator nvidia · cuda 11.4 · jetpack 5.1.2',
        'line2-ipc': 'amd64 · linux · no thing attributes',
        'line3-nano': 'aarch64 · linux · accelerator nvidia · cuda 10.2 · jetpack 4.6',
        'line4-new': 'aarch64 · linux · thing not read',
    }


async def test_a_deployed_version_not_yet_running_and_the_thing_group_filter(user: User) -> None:
    """A group deployment that includes a version marks the group's devices `Deployed, not yet running` until
    they report it installed; the group filter keeps the group's devices, in the URL."""
    group_arn = 'arn:aws:iot:us-east-1:123456789012:thinggroup/line-a'
    refresh(FLEET, versions(), {})
    rollout = RolloutFacts(
        deployments=[
            Deployment(
                deployment_id='d-1',
                target_arn=group_arn,
                revision_id='1',
                status='ACTIVE',
                components=json.dumps({ORIN: '1.0.0'}),
                created_at=utcnow(),
            )
        ],
        thing_groups={
            'line-a': (group_arn, ['line1-orin', 'line3-nano']),
            'line-b': ('arn:b', ['line2-ipc']),
        },
    )
    changed = store().apply(CycleResult(started_at=utcnow(), aws_calls=0, rollouts=rollout))
    assert changed.deployments == {'d-1'}
    store().changed.emit(changed)
    await user.open('/fleet')
    await settled()
    rows = grid(user)[1]
    assert rows[ORIN]['line1-orin']['w'] == 'Deployed, not yet running'
    assert rows[ORIN]['line3-nano']['w'] == 'Deployed, not yet running'
    assert rows[ORIN]['line2-ipc']['w'] == 'Incompatible'  # not in the group
    assert rows['model-weld-x86-64-cpu']['line1-orin']['w'] == 'Incompatible'

    refresh(FLEET, [], {'line1-orin': ORIN})  # one device installed it
    await settled()
    rows = grid(user)[1]
    assert (rows[ORIN]['line1-orin']['w'], rows[ORIN]['line3-nano']['w']) == (
        'Running',
        'Deployed, not yet running',
    )

    await user.open('/fleet?group=line-a')
    assert grid(user)[0] == ['line1-orin', 'line3-nano']
    await user.open('/fleet?group=line-b,line-a')
    assert grid(user)[0] == ['line1-orin', 'line2-ipc', 'line3-nano']
