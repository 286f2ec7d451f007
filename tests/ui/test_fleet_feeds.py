"""`/components` and `/devices` follow the store through two shared feeds: only changed rows reach a tab."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from nicegui.testing import User

from dda_portal.domain.changes import Changed
from dda_portal.domain.clock import utcnow
from dda_portal.domain.greengrass import ComponentState
from dda_portal.pages.feeds import EVERY_KEY, Feed, settled
from dda_portal.pages.live_table import LiveTable
from dda_portal.queries.refresh import CycleResult
from dda_portal.store import Store
from dda_portal.tables import ComponentVersion, CoreDevice, InstalledComponent
from tests.ui.records import store

Fleet = dict[str, list[tuple[str, str, str]]]  # device → (component, version, lifecycle state)

MODEL = 'model-weld-jetson-xavier'
REPORTED = utcnow() - timedelta(hours=1)


def arn(name: str, version: str) -> str:
    return f'arn:aws:greengrass:us-east-1:123456789012:components:{name}:versions:{version}'


def refresh(fleet: Fleet, versions: tuple[str, ...] = ()) -> Changed:
    """One refresh that read this full inventory (and these versions of MODEL), told to the pages as the
    refresh tells them."""
    changed = store().apply(cycle_of(fleet, versions))
    store().changed.emit(changed)
    return changed


def cycle_of(fleet: Fleet, versions: tuple[str, ...] = ()) -> CycleResult:
    now = utcnow()
    return CycleResult(
        started_at=now,
        aws_calls=0,
        component_versions=[
            ComponentVersion(
                arn=arn(MODEL, v),
                component_name=MODEL,
                component_version=v,
                state=ComponentState.DEPLOYABLE,
                created_at=REPORTED,
            )
            for v in versions
        ],
        devices=[
            CoreDevice(
                thing_name=name,
                status='HEALTHY',
                architecture='aarch64',
                platform='linux',
                last_status_update=REPORTED,
                refreshed_at=now,
            )
            for name in fleet
        ],
        installed=[
            InstalledComponent(
                thing_name=name,
                component_name=component,
                component_version=version,
                lifecycle_state=state,
                last_status_change=REPORTED,
                last_reported=REPORTED,
            )
            for name, items in fleet.items()
            for component, version, state in items
        ],
    )


def fleet_of(count: int) -> Fleet:
    return {
        f'line-{i:04d}': [(MODEL, '1.0.0', 'RUNNING'), ('aws.greengrass.Nucleus', '2.12.0', 'FINISHED')]
        for i in range(count)
    }


def feed(name: str) -> Feed[Any, Any]:
    """The shared feed of that name (the page modules make it when the app starts)."""
    feeds = [
        c.func.__self__
        for c in store().changed.callbacks
        if isinstance(getattr(c.func, '__self__', None), Feed)
    ]
    return next(f for f in feeds if f.name == name)


def handed_out(name: str) -> list[tuple[frozenset[Any], Any]]:
    """What the feed of that name hands its tabs from now on: the keys it read and their data."""
    deliveries: list[tuple[frozenset[Any], Any]] = []
    feed(name).follow(EVERY_KEY, lambda keys, data: deliveries.append((keys, data)))
    return deliveries


def table(user: User, marker: str) -> LiveTable:
    return next(e for e in user.find(marker=marker).elements if isinstance(e, LiveTable))


def by_key(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


class Sent:
    """What the server sends the tables: rows patched in (`patchRows`) and whole tables (`update`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.patches: list[tuple[LiveTable, list[dict[str, Any]], list[Any]]] = []
        self.updates: list[LiveTable] = []
        run_method, update = LiveTable.run_method, LiveTable.update

        def recording_run_method(element: LiveTable, name: str, *args: Any, **kwargs: Any) -> Any:
            if name == 'patchRows':
                self.patches.append((element, args[0], args[2]))
            return run_method(element, name, *args, **kwargs)

        def recording_update(element: LiveTable) -> None:
            self.updates.append(element)
            update(element)

        monkeypatch.setattr(LiveTable, 'run_method', recording_run_method)
        monkeypatch.setattr(LiveTable, 'update', recording_update)

    def clear(self) -> None:
        self.patches.clear()
        self.updates.clear()

    def rows(self, element: LiveTable) -> list[dict[str, Any]]:
        return [row for shown, rows, _ in self.patches if shown is element for row in rows]

    def removed(self, element: LiveTable) -> list[Any]:
        return [key for shown, _, gone in self.patches if shown is element for key in gone]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    return Sent(monkeypatch)


@pytest.fixture
def off_the_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """While `guard[0]` is 'on', a store read on the event loop's thread fails (and is listed)."""
    loop_thread = threading.current_thread()
    guard = ['off']
    read = Store.read

    def guarded_read(self: Store, query: Any, *args: Any, **kwargs: Any) -> Any:
        if guard[0] == 'on' and threading.current_thread() is loop_thread:
            guard.append(getattr(query, '__qualname__', repr(query)))
            raise AssertionError(f'store read on the event loop: {query}')
        return read(self, query, *args, **kwargs)

    monkeypatch.setattr(Store, 'read', guarded_read)
    yield guard


async def test_an_unchanged_refresh_reads_nothing_and_sends_nothing(user: User, sent: Sent) -> None:
    fleet = fleet_of(600)
    refresh(fleet, ('1.0.0',))
    await user.open('/devices')
    devices = table(user, 'devices-table')
    assert len(devices.rows) == 600
    devices_feed = feed('devices')
    reads = devices_feed.reads
    sent.clear()

    changed = refresh(fleet, ('1.0.0',))  # Greengrass reports the same fleet again

    assert not changed
    await settled()
    assert devices_feed.reads == reads
    assert (sent.patches, sent.updates) == ([], [])
    assert len(devices.rows) == 600


async def test_one_device_changing_state_sends_only_its_row(user: User, sent: Sent) -> None:
    fleet = fleet_of(300)
    refresh(fleet, ('1.0.0',))
    await user.open('/devices')
    devices = table(user, 'devices-table')
    before = by_key(devices.rows, 'device')
    deliveries = handed_out('devices')
    sent.clear()

    fleet['line-0042'] = [(MODEL, '1.0.0', 'ERRORED'), ('aws.greengrass.Nucleus', '2.12.0', 'FINISHED')]
    changed = refresh(fleet)
    await settled()

    assert changed.devices == {'line-0042'}
    [(keys, rows)] = deliveries  # the feed read that one device, once
    assert keys == {'line-0042'} and list(rows) == ['line-0042']
    [row] = sent.rows(devices)
    assert row['device'] == 'line-0042'
    assert row['models'] == f'{MODEL} 1.0.0 (errored)'
    assert (sent.removed(devices), sent.updates) == ([], [])
    after = by_key(devices.rows, 'device')
    assert after['line-0042'] == row
    assert {k: v for k, v in after.items() if k != 'line-0042'} == {
        k: v for k, v in before.items() if k != 'line-0042'
    }


async def test_a_device_moving_to_another_release_updates_both_components(user: User, sent: Sent) -> None:
    fleet = fleet_of(3)
    refresh(fleet, ('1.0.0', '1.0.1'))
    await user.open('/components')
    components = table(user, 'components-table')
    assert by_key(components.rows, 'version')['1.0.0']['devices'] == 'line-0000, line-0001, line-0002'
    assert by_key(components.rows, 'version')['1.0.1']['devices'] == '—'
    deliveries = handed_out('components')
    sent.clear()

    fleet['line-0001'] = [(MODEL, '1.0.1', 'RUNNING')]
    refresh(fleet)
    await settled()

    [(keys, _)] = deliveries
    assert keys == {arn(MODEL, '1.0.0'), arn(MODEL, '1.0.1')}
    patched = by_key(sent.rows(components), 'version')
    assert sorted(patched) == ['1.0.0', '1.0.1']
    assert patched['1.0.0']['devices'] == 'line-0000, line-0002'
    assert patched['1.0.1']['devices'] == 'line-0001'
    assert by_key(components.rows, 'version') == patched
    assert sent.updates == []

    sent.clear()
    fleet['line-0001'] = [(MODEL, '1.0.1', 'ERRORED')]  # the same release: its component row is the same
    changed = refresh(fleet)
    await settled()
    assert changed.components == frozenset()  # its devices are the same: the components feed reads nothing
    assert 'line-0001' in changed.devices
    assert (sent.patches, sent.updates) == ([], [])


async def test_a_device_gone_from_the_inventory_leaves_the_table(user: User, sent: Sent) -> None:
    fleet = fleet_of(5)
    refresh(fleet, ('1.0.0',))
    await user.open('/devices')
    devices = table(user, 'devices-table')
    sent.clear()

    del fleet['line-0003']
    refresh(fleet)
    await settled()

    assert sent.removed(devices) == ['line-0003']
    assert sent.rows(devices) == []
    assert sorted(by_key(devices.rows, 'device')) == ['line-0000', 'line-0001', 'line-0002', 'line-0004']


async def test_a_new_device_joins_the_table(user: User, sent: Sent) -> None:
    fleet = fleet_of(2)
    refresh(fleet, ('1.0.0',))
    await user.open('/devices')
    devices = table(user, 'devices-table')
    sent.clear()

    fleet['line-0007'] = []
    refresh(fleet)
    await settled()

    [row] = sent.rows(devices)
    assert (row['device'], row['models'], row['stale']) == ('line-0007', 'none', False)
    assert sorted(by_key(devices.rows, 'device')) == ['line-0000', 'line-0001', 'line-0007']


async def test_pages_never_read_the_store_on_the_event_loop(
    user: User, sent: Sent, off_the_loop: list[str]
) -> None:
    fleet = fleet_of(20)
    refresh(fleet, ('1.0.0', '1.0.1'))
    off_the_loop[0] = 'on'
    await user.open('/devices')
    assert len(table(user, 'devices-table').rows) == 20
    await user.open('/components')
    assert len(table(user, 'components-table').rows) == 2
    off_the_loop[0] = 'off'

    fleet['line-0005'] = [(MODEL, '1.0.1', 'RUNNING')]
    changed = store().apply(cycle_of(fleet))  # the refresh writes in its own thread
    off_the_loop[0] = 'on'
    store().changed.emit(changed)
    await settled()
    off_the_loop[0] = 'off'

    assert off_the_loop[1:] == []
    assert by_key(sent.rows(table(user, 'components-table')), 'version')['1.0.1']['devices'] == 'line-0005'
