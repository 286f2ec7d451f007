"""The training job page follows the store through its shared feed: read once per change, off the event loop,
only for the jobs open tabs show, and a tab is sent only what changed."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nicegui import Client, ui
from nicegui.element import Element
from nicegui.testing import User

from dda_portal.domain.changes import Changed
from dda_portal.domain.clock import utcnow
from dda_portal.domain.status import CompilationStatus as C
from dda_portal.pages.feeds import Feed, settled
from dda_portal.pages.live_table import LiveTable
from dda_portal.queries.refresh import CompilationJobFacts, CycleResult
from dda_portal.store import Store
from tests.factories import ROLE
from tests.ui.records import compilation, store, training, write

UNTAR = 'ClientError: InputConfiguration: Unable to untar input model.'


def job_feed() -> Feed[str, Any]:
    """The one feed of the training job pages (it follows the store for the app's lifetime)."""
    feeds = [
        c.func.__self__
        for c in store().changed.callbacks
        if isinstance(getattr(c.func, '__self__', None), Feed)
        and c.func.__self__.name == 'training job pages'
    ]
    assert len(feeds) == 1
    return feeds[0]


async def seed() -> None:
    await write(
        training('mine'),
        training('other'),
        compilation('mine', 'jetson-xavier', C.COMPLETED),
        compilation('mine', 'x86_64-cpu', C.FAILED, UNTAR),
        compilation('mine', 'arm64-cpu', C.STARTING),  # not started yet: its duration does not count up
        compilation('other', 'x86_64-cpu', C.STARTING),
    )


def rows(user: User, marker: str) -> dict[str, dict[str, Any]]:
    [table] = [e for e in user.find(marker=marker).elements if isinstance(e, ui.table)]
    return {row[table.row_key]: row for row in table.rows}


class Sent:
    """What the server sends this client for the page's own elements (the shared frame's header and banner,
    which every page has, left aside), and the rows its tables are given."""

    def __init__(self, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
        content = next(iter(client.elements.values()))
        for element in client.elements.values():
            if 'job-name' in element._markers:
                content = element.parent_slot.parent.parent_slot.parent  # the frame's content column
        page = {e.id for e in content.descendants()}
        self.frame = set(client.elements) - page
        self.updates: list[int] = []
        self.messages: list[tuple[str, Any]] = []
        self.patched: list[tuple[str, list[Any], list[Any]]] = []  # marker, changed row keys, removed keys
        self.resent: list[str] = []  # markers of tables sent whole
        outbox = client.outbox
        enqueue_update, enqueue_delete, enqueue_message = (
            outbox.enqueue_update,
            outbox.enqueue_delete,
            outbox.enqueue_message,
        )

        def update(element: Element) -> None:
            if element.id not in self.frame:
                self.updates.append(element.id)
            enqueue_update(element)

        def delete(element: Element) -> None:
            if element.id not in self.frame:
                self.updates.append(element.id)
            enqueue_delete(element)

        def message(kind: Any, data: Any, target: Any) -> None:
            if not (isinstance(data, dict) and data.get('id') in self.frame):
                self.messages.append((kind, data))
            enqueue_message(kind, data, target)

        monkeypatch.setattr(outbox, 'enqueue_update', update)
        monkeypatch.setattr(outbox, 'enqueue_delete', delete)
        monkeypatch.setattr(outbox, 'enqueue_message', message)
        patch_rows, update_rows = LiveTable.patch_rows, LiveTable.update_rows

        def patch(table: LiveTable, changed: list[dict[str, Any]], removed: Any = ()) -> None:
            removed = list(removed)
            if changed or removed:
                self.patched.append((_marker(table), [r[table.row_key] for r in changed], removed))
            patch_rows(table, changed, removed)

        def resend(table: LiveTable, rows: list[dict[str, Any]]) -> None:
            self.resent.append(_marker(table))
            update_rows(table, rows)

        monkeypatch.setattr(LiveTable, 'patch_rows', patch)
        monkeypatch.setattr(LiveTable, 'update_rows', resend)

    def table_methods(self) -> list[tuple[str, int]]:
        """The tables' methods run in the browser, with the number of rows each was given."""
        calls = []
        for kind, data in self.messages:
            found = re.match(r'return runMethod\((\d+), "(\w+)", (.*)\)$', str(data.get('code', '')), re.S)
            if kind == 'run_javascript' and found:
                calls.append((found.group(2), len(json.loads(found.group(3))[0])))
        return calls

    @property
    def anything(self) -> bool:
        return bool(self.updates or self.messages or self.patched or self.resent)


def _marker(table: ui.table) -> str:
    return next(m for m in table._markers if m.endswith('-table'))


def spy_reads(feed: Feed[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str]]:
    keys_read: list[frozenset[str]] = []
    read = feed.read

    def spy(session: Any, keys: frozenset[str]) -> Any:
        keys_read.append(keys)
        return read(session, keys)

    monkeypatch.setattr(feed, 'read', spy)
    return keys_read


async def test_a_change_to_another_training_job_is_not_read_and_sends_nothing(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed()
    await user.open('/training-jobs/mine?tab=compilation')
    feed = job_feed()
    keys_read = spy_reads(feed, monkeypatch)
    sent = Sent(user.client, monkeypatch)

    await write(compilation('other', 'x86_64-cpu', C.FAILED, UNTAR), training('third'))
    await asyncio.sleep(0.2)  # a tab that followed every change would have had time to show it

    assert keys_read == []
    assert not feed.busy
    assert not sent.anything, (sent.updates, sent.messages, sent.patched, sent.resent)

    await write(compilation('mine', 'x86_64-cpu', C.FAILED, UNTAR + ' (again)'))  # this page's job
    assert keys_read == [frozenset({'mine'})]  # only what an open tab shows
    assert sent.patched


async def test_a_changed_attempt_sends_only_its_rows_and_the_page_shows_it(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed()
    await user.open('/training-jobs/mine?tab=compilation')
    assert rows(user, 'compilation-table')['arm64-cpu']['status'] == 'Starting'
    compilation_table = next(e for e in user.find(marker='compilation-table').elements)
    sent = Sent(user.client, monkeypatch)

    await write(compilation('mine', 'arm64-cpu', C.COMPLETED))

    assert sorted(sent.patched) == [
        ('compilation-table', ['arm64-cpu'], []),
        ('history-table', ['mine-arm64-cpu-1'], []),
    ]
    assert sent.resent == []
    await asyncio.sleep(0.05)  # a method call goes out in the loop's next turn
    assert sorted(sent.table_methods()) == [('patchRows', 1), ('patchRows', 1)]  # one row each
    assert compilation_table.id not in sent.updates  # the table's props (all rows) were not sent again
    assert rows(user, 'compilation-table')['arm64-cpu']['status'] == 'Completed'
    assert rows(user, 'history-table')['mine-arm64-cpu-1']['status'] == 'Completed'
    assert rows(user, 'compilation-table')['x86_64-cpu']['status'] == 'Failed'  # the others stay
    await user.should_see('2/3 compiled')  # the header, refreshed since its values changed
    assert user.find(marker='compilation-table').elements.pop() is compilation_table  # not rebuilt


async def test_a_new_attempt_takes_its_place_in_the_history(user: User) -> None:
    await seed()
    await user.open('/training-jobs/mine?tab=compilation')
    await write(compilation('mine', 'x86_64-cpu', C.STARTING, attempt_suffix=2))
    [table] = [e for e in user.find(marker='history-table').elements if isinstance(e, ui.table)]
    assert [(r['target'], r['attempt']) for r in table.rows] == [
        ('ARM64 CPU', 1),
        ('NVIDIA Jetson Xavier', 1),
        ('x86_64 CPU', 2),
        ('x86_64 CPU', 1),
    ]
    assert rows(user, 'compilation-table')['x86_64-cpu']['attempt'] == 2


async def test_a_refresh_that_changed_nothing_sends_nothing(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed()
    await user.open('/training-jobs/mine?tab=compilation')
    user.find(marker='compilation-table').trigger('details', {'job_name': 'mine-x86-64-cpu-1'})
    await user.should_see(marker='attempt-dialog')
    feed = job_feed()
    keys_read = spy_reads(feed, monkeypatch)
    sent = Sent(user.client, monkeypatch)

    store().changed.emit(Changed())  # what a refresh that found no change tells the pages
    await settled()
    assert keys_read == []

    store().changed.emit(Changed.jobs('mine'))  # this job, read again, but nothing the tab shows differs
    await settled()
    await asyncio.sleep(0.1)
    assert keys_read == [frozenset({'mine'})]
    assert not sent.anything, (sent.updates, sent.messages, sent.patched, sent.resent)
    await user.should_see(marker='attempt-dialog')  # the open dialog stays open


@pytest.fixture
def loop_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], list[str]]]:
    """Store.read fails when the event loop's thread calls it while watched (pages read with fetch)."""
    seen: list[str] = []
    watching = [False]
    read = Store.read

    def guarded(self: Store, query: Any, *args: Any, **kwargs: Any) -> Any:
        if watching[0] and _on_event_loop():
            seen.append(getattr(query, '__name__', repr(query)))
            raise AssertionError(f'{seen[-1]} read on the event loop')
        return read(self, query, *args, **kwargs)

    def watch(on: bool) -> list[str]:
        watching[0] = on
        return seen

    monkeypatch.setattr(Store, 'read', guarded)
    yield watch


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('DDA_SAGEMAKER_ROLE_ARN', ROLE)  # so that the compile dialog opens


async def test_no_store_query_runs_on_the_event_loop_while_a_page_opens_and_follows(
    role: None, user: User, loop_reads: Callable[[bool], list[str]]
) -> None:
    await seed()
    seen = loop_reads(True)
    await user.open('/training-jobs/mine?tab=compilation')
    assert rows(user, 'compilation-table')['arm64-cpu']['status'] == 'Starting'
    await user.open('/training-jobs/mine?tab=components')
    await user.should_see(marker='no-components')
    user.find(marker='compile-button').click()
    await user.should_see('Compile mine for more targets', retries=100)
    user.find(marker='compilation-table').trigger('details', {'job_name': 'mine-x86-64-cpu-1'})
    await user.should_see(marker='attempt-dialog')

    loop_reads(False)  # the test's own commit reads the freshness, as the refresh does in its thread
    changed = store().apply(
        CycleResult(started_at=utcnow(), aws_calls=0, training_jobs=[], compilation_jobs=[_completed()])
    )
    loop_reads(True)
    store().changed.emit(changed)
    await settled()
    assert rows(user, 'compilation-table')['arm64-cpu']['status'] == 'Completed'
    assert seen == []


def _completed() -> CompilationJobFacts:
    return compilation('mine', 'arm64-cpu', C.COMPLETED)
