"""Load: 50 open list pages (`/`) while each refresh from AWS changes 100 of 2,000 training jobs.

    .venv/bin/python bench/load.py [--jobs 2000] [--clients 50] [--cycles 5] [--changes 100]
                                   [--refresh-seconds 5] [--cycles-alone 2] [--log portal.log]

Setup. The bench hosts moto's server in this process and points the portal's `AWS_ENDPOINT_URL` at it, so
the refresh is the real one (moto → sync cycle → store → ListFeed → every open page → its socket). moto gets
`--jobs` training jobs with three compilation jobs each (jetson-xavier, x86_64-cpu, arm64-cpu; created in
moto's backend like bench/sync_cost.py, an hour apart, most compilations completed and some failed, running,
starting or stopped). The portal's SQLite store is seeded with the same jobs, converted by the sync's own
`training_facts` / `compilation_facts` from moto's descriptions and written with `Store.apply(CycleResult)`,
the road the refresh takes, watermarks included: the portal's first refresh then has nothing to describe
(checked: it must change no training job), and the bench starts in seconds whatever `--jobs` is, instead of
waiting for a backfill of ~7 AWS calls per training job. `main.py` runs as a subprocess on a free 127.0.0.1
port (no sign-in on loopback) with the periodic refresh on (`DDA_REFRESH_SECONDS`, 5 s) and Greengrass off
(moto has none); its stdout and stderr go to a file that is scanned at the end.

Tabs. `--clients` socket clients behave like browser tabs without a browser: each requests `/` over HTTP and
connects its socket with the parameters nicegui.js uses (python-socketio, websocket, implicit handshake). They
open all at once (as after a restart of the portal, when every open tab reloads); a tab that gets an error
page is opened again a second later, one at a time, like someone pressing reload. Then they stay connected,
answer the server's pings, acknowledge received messages every 3 s and answer JavaScript requests, as
nicegui.js does. A tab notes when a change reaches it: the first `update` after the change that carries the
table and a new count on the `Compilation failed` chip.

Cycles. Wait for a refresh, then, half a second before the next one is due, flip `--changes` compilation jobs
in moto's backend (x86_64-cpu of training jobs spread evenly over the list, newest first, so the first page
of every tab holds a few of them): COMPLETED ↔ FAILED, failure reason, end and `LastModifiedTime` (naive UTC
now, as moto keeps them) moved on, so that as many training jobs' rollups change between `Compiled` and
`Compilation failed` (announced in toasts, the rows on the page highlighted). `--cycles-alone` cycles run
before any tab is open (the refresh's own cost), `--cycles` with the tabs open. Per cycle:
- changed, AWS calls, sync ms: the store's record of the refresh that carried the change (training jobs it
  changed, its AWS calls, its pull and commit);
- wait ms: from the flip to the start of that refresh (the schedule's phase, not the portal's doing);
- first / last ms: from the flip until the first / last tab received the change; push ms: from the end of the
  refresh's commit until the last tab received it (ListFeed, every page's handler, every socket);
- received: tabs that received it (a tab that has not within 2 refresh intervals + 60 s missed it);
- portal CPU ms: the portal process's CPU time (/proc/<pid>/stat, all threads, 10 ms ticks) from the flip
  until the last tab received the change (without tabs: until 1 s after the refresh); idle ms: what the portal
  uses anyway in as much time (measured at rest before: with tabs open, `Last updated … ago` ticks every
  second in every tab, and the refresh runs with nothing to do); bench CPU ms: this process meanwhile (moto
  serving the refresh, the clients);
- healthz max ms: the slowest of the `/healthz` requests a thread sends every 0.1 s meanwhile: how long
  anyone else (another page, a click) waited for the portal's event loop. Also while the tabs open.

Memory: the portal's resident size before any tab opened, with the tabs open, at the end, and its peak
(VmHWM of /proc/<pid>/status). Errors: error pages and failed requests, sockets that failed to connect or
disconnected, reloads the server asked for, updates missed, tabs whose chip count differs from the store's
after a cycle, `/readyz` at the end, the portal's output lines with `ERROR` or `Traceback` (apart: those
written once it was asked to stop) and its warnings.

The portal, this process (moto and the clients) and anything else running share the machine's CPUs: timings
under contention measure the machine as much as the server; the idle and bench CPU columns help to tell them
apart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import cpu_seconds, has_table, memory_kb, moto_server, portal  # noqa: E402
from sqlmodel import col, func, select  # noqa: E402

from dda_portal.domain.clock import as_utc, utcnow  # noqa: E402
from dda_portal.domain.naming import compilation_job_name  # noqa: E402
from dda_portal.domain.status import Rollup, compilation_status_from_aws  # noqa: E402
from dda_portal.domain.targets import TargetCatalog  # noqa: E402
from dda_portal.queries.refresh import CycleResult  # noqa: E402
from dda_portal.services.facts import compilation_facts, training_facts  # noqa: E402
from dda_portal.services.sync import COMPILATION_WATERMARK, TRAINING_WATERMARK  # noqa: E402
from dda_portal.store import Store  # noqa: E402
from dda_portal.tables import CompilationAttempt, SyncCycle, TrainingJob  # noqa: E402

ACCOUNT = '123456789012'
REGION = 'us-east-1'
FLIPPED_TARGET = 'x86_64-cpu'
AWS_STATES = ['COMPLETED'] * 7 + ['FAILED', 'FAILED', 'INPROGRESS', 'STARTING', 'STOPPED']
FINAL = ('COMPLETED', 'FAILED', 'STOPPED')
UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file'
)
FAILED_CHIP = f'{Rollup.FAILED.value} · '
LEAD_SECONDS = 0.5  # the flip comes this long before the next refresh is due
ACK_SECONDS = 3.0  # nicegui.js acknowledges received messages this often
LOG_PROBLEM = re.compile(r'ERROR|Traceback')
LOG_WARNING = re.compile(r' WARNING (.*)')
NICEGUI_ERROR = re.compile(r'The (?:page|client) [^"<\\]*')  # what NiceGUI's error page says
REOPEN = 3
NO_TABS_SETTLE_SECONDS = 1.0
PROBE_SECONDS = 0.1


def naive_utc() -> datetime:
    """moto keeps naive UTC datetimes; an aware one would break its time filters."""
    return datetime.now(UTC).replace(tzinfo=None)


def backend() -> Any:
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[ACCOUNT][REGION]


# ---- the jobs: in moto and, identically, in the store -----------------------------------------------


def seed_moto(count: int, changes: int, seed: int = 7) -> list[str]:
    """`count` training jobs an hour apart with three compilation jobs each, in moto's backend.

    Returns the compilation jobs the cycles flip: one per training job, spread evenly, newest first; their
    training jobs start with every target completed, so each flip moves the rollup.
    """
    from sync_cost import TARGETS
    from sync_cost import seed as create_in_moto  # straight in moto's backend, all aged two hours

    create_in_moto(count)
    rnd = random.Random(seed)
    now = naive_utc()
    step = max(1, count // max(1, changes))
    flipping = {f'bench-{i:05d}' for i in range(count - 1, -1, -step)[:changes]}
    sagemaker = backend()
    for i in range(count):
        name = f'bench-{i:05d}'
        job = sagemaker.training_jobs[name]
        job.creation_time = job.training_start_time = now - timedelta(hours=count - i + 3)
        job.training_end_time = job.creation_time + timedelta(minutes=rnd.randint(20, 90))
        job.last_modified_time = job.training_end_time
        for target in TARGETS:
            compiling = sagemaker.compilation_jobs[compilation_job_name(name, target, 1)]
            status = 'COMPLETED' if name in flipping else rnd.choice(AWS_STATES)
            started = job.training_end_time + timedelta(minutes=5)
            compiling.compilation_job_status = status
            compiling.creation_time = started
            compiling.compilation_start_time = None if status == 'STARTING' else started
            compiling.compilation_end_time = (
                started + timedelta(seconds=rnd.randint(120, 900)) if status in FINAL else None
            )
            compiling.failure_reason = UNTAR if status == 'FAILED' else ''
            compiling.last_modified_time = compiling.compilation_end_time or started
    return sorted((compilation_job_name(n, FLIPPED_TARGET, 1) for n in flipping), reverse=True)


def seed_store(database_url: str) -> Store:
    """The store as a refresh would have left it: moto's jobs through the sync's own conversions."""
    sagemaker = backend()
    catalog = TargetCatalog.load()
    started = utcnow()
    training = [training_facts(sagemaker.describe_training_job(name)) for name in sagemaker.training_jobs]
    compiling = [
        compilation_facts(job.describe(), {tag['Key']: tag['Value'] for tag in job.tags or []}, catalog)
        for job in sagemaker.compilation_jobs.values()
    ]
    store = Store(database_url)
    store.apply(
        CycleResult(
            started_at=started,
            aws_calls=0,
            training_jobs=training,
            compilation_jobs=compiling,
            watermarks={TRAINING_WATERMARK: started, COMPILATION_WATERMARK: started},
        )
    )
    return store


def flip(job_names: list[str]) -> str:
    """The compilation jobs change state in moto, as SageMaker would show it; returns their new status."""
    sagemaker = backend()
    failed = sagemaker.compilation_jobs[job_names[0]].compilation_job_status == 'FAILED'
    status = 'COMPLETED' if failed else 'FAILED'
    now = naive_utc()
    for name in job_names:
        job = sagemaker.compilation_jobs[name]
        job.compilation_job_status = status
        job.failure_reason = UNTAR if status == 'FAILED' else ''
        job.compilation_end_time = now
        job.last_modified_time = now + timedelta(milliseconds=1)
    return status


# ---- what the store says ---------------------------------------------------------------------------


def cycles_since(store: Store, after: float) -> list[SyncCycle]:
    """Refreshes recorded since `after` (epoch seconds), oldest first."""
    with store.session() as session:
        query = select(SyncCycle).order_by(col(SyncCycle.id).desc()).limit(50)
        cycles = list(session.exec(query))
    return [c for c in reversed(cycles) if epoch(c.finished_at) > after]


def epoch(value: datetime) -> float:
    converted = as_utc(value)
    assert converted is not None
    return converted.timestamp()


def wait_for_cycle(store: Store, after: float, timeout: float, changed: bool = False) -> SyncCycle | None:
    """The first refresh that finished after `after` (with `changed`: that changed training jobs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for cycle in cycles_since(store, after):
            if not changed or cycle.changed_training_jobs > 0:
                return cycle
        time.sleep(0.05)
    return None


def store_state(store: Store, job_names: list[str], status: str) -> tuple[int, int]:
    """How many flipped attempts have `status` in the store, and how many training jobs show as failed."""
    word = compilation_status_from_aws(status).value
    with store.session() as session:
        flipped = session.exec(
            select(func.count())
            .select_from(CompilationAttempt)
            .where(col(CompilationAttempt.job_name).in_(job_names), CompilationAttempt.status == word)
        ).one()
        failed = session.exec(
            select(func.count()).select_from(TrainingJob).where(TrainingJob.rollup == Rollup.FAILED.value)
        ).one()
    return int(flipped), int(failed)


# ---- errors ----------------------------------------------------------------------------------------


class Problems:
    """Errors seen by the bench, grouped by what happened: how often, when first and last (seconds since the
    portal was up), which tabs."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._seen: dict[str, tuple[int, float, float, list[int]]] = {}

    def add(self, text: str, tab: int | None = None) -> None:
        now = time.monotonic() - self._started
        count, first, _, tabs = self._seen.get(text, (0, now, now, []))
        self._seen[text] = (count + 1, first, now, [*tabs, *([] if tab is None else [tab])])

    def __len__(self) -> int:
        return sum(count for count, *_ in self._seen.values())

    def lines(self, timed: bool = True) -> list[str]:
        lines = []
        for text, (count, first, last, tabs) in self._seen.items():
            when = f'{first:.1f} s' if count == 1 else f'{first:.1f}–{last:.1f} s'
            who = f' (tabs {tab_ranges(tabs)})' if tabs else ''
            lines.append(f'{count}×{f" at {when}" if timed else ""}{who}: {text}')
        return lines


def tab_ranges(indexes: list[int]) -> str:
    """0 1 2 5 → 0–2, 5"""
    ranges: list[list[int]] = []
    for index in sorted(set(indexes)):
        if ranges and index == ranges[-1][1] + 1:
            ranges[-1][1] = index
        else:
            ranges.append([index, index])
    return ', '.join(str(a) if a == b else f'{a}–{b}' for a, b in ranges)


# ---- tabs without a browser ------------------------------------------------------------------------


@dataclass
class Tab:
    """One open `/` page: its NiceGUI client, its socket and what it has seen."""

    index: int
    client_id: str = ''
    socket: Any = None
    page_ms: float | None = None
    connect_ms: float | None = None
    next_message_id: int = 0
    acked_message_id: int = -1
    failed_chip: str = ''  # the `Compilation failed · n` chip as the tab shows it
    arrival: float | None = None  # when the change reached it (epoch ms), after `Tabs.arm()`
    connected: bool = False
    closing: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Tabs:
    """`count` open list pages without a browser, like real tabs: each requests `/` over HTTP, connects its
    socket with nicegui.js's parameters, stays connected, acknowledges messages and answers the server."""

    def __init__(self, url: str, count: int, errors: Problems) -> None:
        self.url = url
        self.tabs = [Tab(index) for index in range(count)]
        self.errors = errors
        self.http_errors = 0
        self.burst_http_errors = 0  # when all tabs opened at once
        self.reopened = 0  # tabs that loaded only when opened again
        self.burst_page_ms: list[float] = []  # answer times of the pages opened at once
        self.socket_errors = 0
        self.disconnects = 0
        self.reloads = 0
        self._armed = False
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()

    # ---- driven from the bench's thread ----

    def open(self) -> float:
        """Open every tab at once; a tab that got an error page is opened again a second later, one at a
        time (someone pressing reload), up to REOPEN times. Returns the seconds until all were connected."""
        start = time.perf_counter()
        self._run(self._open_all())
        self.burst_http_errors = self.http_errors
        self.burst_page_ms = [tab.page_ms for tab in self.tabs if tab.page_ms is not None]
        for _ in range(REOPEN):
            closed = [tab for tab in self.tabs if not tab.connected]
            if not closed:
                break
            time.sleep(1)
            for tab in closed:
                self._run(self._open(tab))
                self.reopened += tab.connected
        return time.perf_counter() - start

    def arm(self) -> None:
        for tab in self.tabs:
            tab.arrival = None
        self._armed = True

    def wait(self, timeout: float) -> list[float]:
        """Arrival times of the change (epoch ms) once every connected tab has it, or at the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(tab.arrival is not None for tab in self.tabs if tab.connected):
                break
            time.sleep(0.005)
        self._armed = False
        return [tab.arrival for tab in self.tabs if tab.arrival is not None]

    @property
    def connected(self) -> int:
        return sum(tab.connected for tab in self.tabs)

    def close(self) -> None:
        self._run(self._close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=900)

    def _error(self, tab: Tab, text: str) -> None:
        self.errors.add(text, tab.index)

    # ---- on the clients' loop ----

    async def _open_all(self) -> None:
        await asyncio.gather(*(self._open(tab) for tab in self.tabs))

    async def _close_all(self) -> None:
        for tab in self.tabs:
            tab.closing = True
            for task in tab.tasks:
                task.cancel()
        await asyncio.gather(
            *(tab.socket.disconnect() for tab in self.tabs if tab.socket is not None), return_exceptions=True
        )

    async def _open(self, tab: Tab) -> None:
        import socketio

        start = time.perf_counter()
        try:
            async with httpx.AsyncClient() as http:
                response = await http.get(f'{self.url}/', timeout=120)
        except httpx.HTTPError as error:
            self.http_errors += 1
            self._error(tab, f'GET / failed: {type(error).__name__}: {error}')
            return
        tab.page_ms = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            self.http_errors += 1
            said = NICEGUI_ERROR.search(response.text)
            self._error(tab, f'GET / answered HTTP {response.status_code}{f": {said[0]}" if said else ""}')
            return
        html = response.text
        client_id = re.search(r"'client_id': '([0-9a-f-]+)'", html)
        next_id = re.search(r"'next_message_id': (\d+)", html)
        if client_id is None or next_id is None:
            self.http_errors += 1
            self._error(tab, 'no NiceGUI client id in the page')
            return
        tab.client_id = client_id.group(1)
        tab.next_message_id = int(next_id.group(1))
        chip = re.search(r'Compilation failed (?:·|\\u00b7) (\d+)', html)
        tab.failed_chip = f'{FAILED_CHIP}{chip.group(1)}' if chip else ''
        tab.socket = socketio.AsyncClient(reconnection=False)  # a disconnect counts; a browser would retry
        self._listen(tab)
        query = urlencode(
            {
                'client_id': tab.client_id,
                'next_message_id': tab.next_message_id,
                'implicit_handshake': 'true',
                'document_id': str(uuid4()),
                'tab_id': str(uuid4()),
            }
        )
        connecting = time.perf_counter()
        try:
            await tab.socket.connect(
                f'{self.url}?{query}',
                socketio_path='/_nicegui_ws/socket.io',
                transports=['websocket'],
                wait_timeout=60,
            )
        except Exception as error:
            self.socket_errors += 1
            self._error(tab, f'socket did not connect: {type(error).__name__}: {error}')
            return
        tab.connect_ms = (time.perf_counter() - connecting) * 1000
        tab.connected = True
        tab.tasks.append(asyncio.create_task(self._acknowledge(tab)))

    def _listen(self, tab: Tab) -> None:
        """nicegui.js's handlers, as far as a list page needs them."""

        def fresh(data: Any) -> bool:
            """Messages carry ids; like nicegui.js, one seen before is dropped."""
            if isinstance(data, dict) and isinstance(data.get('_id'), int):
                if data['_id'] < tab.next_message_id:
                    return False
                tab.next_message_id = data['_id'] + 1
            return True

        async def update(data: dict[str, Any]) -> None:
            if not fresh(data):
                return
            chips = [
                element['text']
                for element in data.values()
                if isinstance(element, dict) and str(element.get('text', '')).startswith(FAILED_CHIP)
            ]
            if not chips:
                return
            changed = chips[-1] != tab.failed_chip
            tab.failed_chip = chips[-1]
            if self._armed and tab.arrival is None and changed and has_table(data):
                tab.arrival = time.time() * 1000

        async def run_javascript(data: dict[str, Any]) -> None:
            if not fresh(data):
                return
            if 'reload' in str(data.get('code', '')):
                self.reloads += 1
                self._error(tab, f'the server asked for a reload: {data.get("code")}')
            if data.get('request_id') is not None:  # the page awaits an answer
                await tab.socket.emit(
                    'javascript_response',
                    {'request_id': data['request_id'], 'client_id': tab.client_id, 'result': None},
                )

        async def other(data: Any = None) -> None:
            fresh(data)

        async def try_reconnect(data: Any = None) -> None:
            fresh(data)
            self.reloads += 1
            self._error(tab, 'the server asked the tab to reconnect (a browser would reload)')

        async def disconnect(reason: Any = None) -> None:
            if tab.closing or not tab.connected:
                return
            tab.connected = False
            self.disconnects += 1
            self._error(tab, f'socket disconnected ({reason})')

        async def connect_error(data: Any = None) -> None:
            self._error(tab, f'socket connect error: {data}')

        tab.socket.on('update', update)
        tab.socket.on('run_javascript', run_javascript)
        for event in ('notify', 'open', 'download', 'load_js_components'):
            tab.socket.on(event, other)
        tab.socket.on('try_reconnect', try_reconnect)
        tab.socket.on('disconnect', disconnect)
        tab.socket.on('connect_error', connect_error)

    async def _acknowledge(self, tab: Tab) -> None:
        """Like nicegui.js: tell the server every few seconds which messages arrived (it prunes history)."""
        while tab.connected:
            await asyncio.sleep(ACK_SECONDS)
            if tab.connected and tab.acked_message_id < tab.next_message_id:
                try:
                    await tab.socket.emit(
                        'ack', {'client_id': tab.client_id, 'next_message_id': tab.next_message_id}
                    )
                except Exception as error:  # the disconnect handler counts it
                    self._error(tab, f'ack failed: {type(error).__name__}: {error}')
                    return
                tab.acked_message_id = tab.next_message_id


# ---- the bench -------------------------------------------------------------------------------------


@dataclass
class CycleRow:
    changed: int  # training jobs the refresh changed
    aws_calls: int
    wait_ms: float  # flip → the refresh starts
    sync_ms: float  # the refresh's pull and commit
    first_ms: float | None  # flip → first tab
    last_ms: float | None  # flip → last tab
    push_ms: float | None  # the refresh's commit → last tab
    received: int
    cpu_ms: float
    idle_ms: float
    bench_ms: float
    slowest_ms: float  # the slowest /healthz answer meanwhile
    stale: int


class Prober:
    """Asks `/healthz` every PROBE_SECONDS in a thread while in use: its slowest answer is how long anyone
    else (another page, a click) waited for the portal's event loop meanwhile."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest_ms = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _probe(self) -> None:
        with httpx.Client() as http:
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    http.get(f'{self.url}/healthz', timeout=60).raise_for_status()
                except httpx.HTTPError:
                    self.failures += 1
                self.slowest_ms = max(self.slowest_ms, (time.perf_counter() - start) * 1000)
                self._stop.wait(PROBE_SECONDS)


def idle_cpu_per_second(pid: int, seconds: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) * 1000 / seconds


@dataclass
class Portal:
    """The portal under load and what the cycles need to know about it."""

    url: str
    pid: int
    store: Store  # the portal's database, read by the bench
    flipped: list[str]  # the compilation jobs each cycle flips
    refresh: float
    errors: Problems


def one_cycle(under_load: Portal, tabs: Tabs | None, idle_per_second: float) -> CycleRow:
    """One change in moto, until every tab has it (without tabs: until a second after the refresh)."""
    store, pid, flipped, refresh, errors = (
        under_load.store,
        under_load.pid,
        under_load.flipped,
        under_load.refresh,
        under_load.errors,
    )
    # the schedule's phase: wait for a refresh, then flip just before the next one is due
    recent = wait_for_cycle(store, time.time(), timeout=refresh * 3 + 60)
    if recent is None:
        raise RuntimeError('the portal recorded no refresh')
    due = epoch(recent.started_at) + refresh
    time.sleep(max(0.0, due - LEAD_SECONDS - time.time()))
    if tabs is not None:
        tabs.arm()
    with Prober(under_load.url) as prober:
        cpu_before, bench_before = cpu_seconds(pid), cpu_seconds(os.getpid())
        flipped_at = time.time()
        status = flip(flipped)
        if tabs is not None:
            arrivals = tabs.wait(timeout=refresh * 2 + 60)
        else:
            arrivals = []
            wait_for_cycle(store, flipped_at, timeout=refresh * 2 + 60, changed=True)
            time.sleep(NO_TABS_SETTLE_SECONDS)  # what follows the commit: the refresh's actions, the event
        done = time.time()
        cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000
        bench_ms = (cpu_seconds(os.getpid()) - bench_before) * 1000
    if prober.failures:
        errors.add(f'/healthz failed {prober.failures} times during a cycle')
    carrier = wait_for_cycle(store, flipped_at, timeout=refresh * 2 + 60, changed=True)
    if carrier is None:
        raise RuntimeError('no refresh brought the change in')
    flipped_in_store, failed_jobs = store_state(store, flipped, status)
    if flipped_in_store != len(flipped):
        errors.add(f'store: {flipped_in_store} of {len(flipped)} flipped attempts are {status}')
    expected_chip = f'{FAILED_CHIP}{failed_jobs}'
    stale = [t.index for t in tabs.tabs if t.connected and t.failed_chip != expected_chip] if tabs else []
    for index in stale:
        errors.add(f'does not show {expected_chip!r} after the cycle', index)
    flip_ms, started_ms = flipped_at * 1000, epoch(carrier.started_at) * 1000
    committed_ms = epoch(carrier.finished_at) * 1000
    return CycleRow(
        changed=carrier.changed_training_jobs,
        aws_calls=carrier.aws_calls,
        wait_ms=started_ms - flip_ms,
        sync_ms=committed_ms - started_ms,
        first_ms=min(arrivals) - flip_ms if arrivals else None,
        last_ms=max(arrivals) - flip_ms if arrivals else None,
        push_ms=max(arrivals) - committed_ms if arrivals else None,
        received=len(arrivals),
        cpu_ms=cpu_ms,
        idle_ms=idle_per_second * (done - flipped_at),
        bench_ms=bench_ms,
        slowest_ms=prober.slowest_ms,
        stale=len(stale),
    )


def log_lines(path: Path, stopping_at: int) -> tuple[list[str], list[str], Problems]:
    """The portal's output lines with ERROR or Traceback before it was asked to stop (at byte `stopping_at`)
    and after, and its warnings grouped by message."""
    text = path.read_bytes()
    running = text[:stopping_at].decode(errors='replace').splitlines()
    stopping = text[stopping_at:].decode(errors='replace').splitlines()
    warnings = Problems()
    for line in running + stopping:
        if found := LOG_WARNING.search(line):
            warnings.add(found[1])
    problems = [line for line in running if LOG_PROBLEM.search(line)]
    return problems, [line for line in stopping if LOG_PROBLEM.search(line)], warnings


def header(*columns: tuple[str, int]) -> None:
    """A table's header line and a rule as long as it."""
    line = ' | '.join(f'{title:>{width}}' for title, width in columns)
    print(line)
    print('-' * len(line))


def ms(value: float | None) -> str:
    return '—' if value is None else f'{value:,.0f}'


def median(values: Sequence[float | None]) -> str:
    present = [v for v in values if v is not None]
    return ms(statistics.median(present) if present else None)


def run(args: argparse.Namespace, work: Path) -> None:
    clients, refresh = args.clients, args.refresh_seconds
    with moto_server() as endpoint:
        flipped = seed_moto(args.jobs, args.changes)
        database = f'sqlite:///{work / "load.db"}'
        store = seed_store(database)
        seeded_at = time.time()
        log_path = work / 'portal.log'
        env = {'DDA_SYNC_ENABLED': 'true', 'DDA_REFRESH_SECONDS': str(refresh)}
        print(
            f'\nLoad on `/`: {args.jobs:,} training jobs ({args.jobs * 3:,} compilation jobs), {clients} '
            f'tabs, a refresh every {refresh:g} s, {len(flipped)} training jobs change per cycle',
            flush=True,
        )
        with portal(database, endpoint, work, env=env, log_path=log_path) as (url, pid):
            errors = Problems()
            first = wait_for_cycle(store, seeded_at, timeout=120)
            if first is None or first.changed_training_jobs:
                raise RuntimeError(f'the first refresh should change nothing: {first}')
            rss_before = memory_kb(pid, 'VmRSS')
            idle_alone = idle_cpu_per_second(pid, 2 * refresh)
            alone: list[CycleRow] = []
            under_load = Portal(url, pid, store, flipped, refresh, errors)
            print_cycles(under_load, alone, None, idle_alone, args.cycles_alone)
            cpu_before = cpu_seconds(pid)
            tabs = Tabs(url, clients, errors)
            rows: list[CycleRow] = []
            try:
                with Prober(url) as opening:
                    open_seconds = tabs.open()
                open_cpu = cpu_seconds(pid) - cpu_before
                rss_open = memory_kb(pid, 'VmRSS')
                time.sleep(3)  # the tabs settle
                idle_tabs = idle_cpu_per_second(pid, 2 * refresh)
                print_open(tabs, open_seconds, open_cpu, opening.slowest_ms)
                print_rest(clients, idle_alone, idle_tabs, rss_before, rss_open)
                print_cycles(under_load, rows, tabs, idle_tabs, args.cycles)
                time.sleep(2)
            finally:
                peak = memory_kb(pid, 'VmHWM')
                rss_end = memory_kb(pid, 'VmRSS')
                connected_at_end = tabs.connected
                tabs.close()
            try:
                ready = httpx.get(f'{url}/readyz', timeout=30)
                readyz = f'{ready.status_code} {ready.json().get("status")}'
            except httpx.HTTPError as error:
                readyz = f'failed: {error}'
            stopping_at = log_path.stat().st_size  # the portal is asked to stop (SIGTERM) next
    problems, at_stop, warnings = log_lines(log_path, stopping_at)
    if args.log:
        shutil.copyfile(log_path, args.log)
    missed = sum(clients - row.received for row in rows)
    stale = sum(row.stale for row in rows)
    print('\nMemory of the portal process (MB)')
    header(('before tabs', 11), ('tabs open', 9), ('at end', 6), ('peak (VmHWM)', 12))
    print(
        f'{rss_before / 1024:>11,.0f} | {rss_open / 1024:>9,.0f} | {rss_end / 1024:>6,.0f} | '
        f'{peak / 1024:>12,.0f}'
    )
    print('\nErrors (HTTP: error pages and failed requests, all attempts; socket: failed to connect)')
    header(
        ('connected at end', 16),
        ('HTTP', 4),
        ('socket', 6),
        ('disconnects', 11),
        ('reload asked', 12),
        ('missed updates', 14),
        ('stale tabs', 10),
        ('log ERROR/Traceback', 19),
        ('… when stopping', 15),
        ('log WARNING', 11),
        ('/readyz', 9),
    )
    print(
        f'{f"{connected_at_end}/{clients}":>16} | {tabs.http_errors:>4} | {tabs.socket_errors:>6} | '
        f'{tabs.disconnects:>11} | {tabs.reloads:>12} | {missed:>14} | {stale:>10} | {len(problems):>19} | '
        f'{len(at_stop):>15} | {len(warnings):>11} | {readyz:>9}'
    )
    for line in tabs.errors.lines():
        print(f'  bench: {line}')
    for line in warnings.lines(timed=False):
        print(f'  portal WARNING: {line}')
    for line in problems[:20]:
        print(f'  portal: {line}')
    if len(problems) > 20:
        print(f'  … and {len(problems) - 20} more portal lines')
    for line in at_stop[:5]:
        print(f'  portal, when stopping: {line}')
    last = [row.last_ms for row in rows if row.last_ms is not None]
    cpu, cpu_alone = median([r.cpu_ms for r in rows]), median([r.cpu_ms for r in alone])
    counted = (
        f'{tabs.http_errors} HTTP ({tabs.burst_http_errors} error pages when all opened at once), '
        f'{tabs.socket_errors} socket, {tabs.disconnects} disconnects, {tabs.reloads} reloads asked, '
        f'{missed} missed updates, {stale} stale tabs, {len(problems)} ERROR/Traceback log lines '
        f'(+{len(at_stop)} when stopping), {len(warnings)} WARNING log lines'
    )
    print(
        f'\nSummary: {clients} tabs on {args.jobs:,} training jobs, {len(rows)} refreshes changing '
        f'{len(flipped)} each: last tab {median(last)} ms after the change (median; max '
        f'{ms(max(last) if last else None)}), portal CPU {cpu} ms per cycle (median; the refresh alone '
        f'{cpu_alone}), {idle_tabs:,.0f} ms/s at rest with the tabs open; peak RSS {peak / 1024:,.0f} MB '
        f'(before tabs {rss_before / 1024:,.0f} MB); '
        f'errors: {counted}',
        flush=True,
    )


def print_open(tabs: Tabs, seconds: float, cpu: float, slowest_ms: float) -> None:
    pages = tabs.burst_page_ms
    connects = [tab.connect_ms for tab in tabs.tabs if tab.connect_ms is not None]
    print(
        f'\nOpening {len(tabs.tabs)} tabs at once (each: GET / then its socket; a tab that got an error page '
        f'is opened again a second later, one at a time, up to {REOPEN} times)'
    )
    header(
        ('tabs', 4),
        ('page ms p50', 11),
        ('page ms max', 11),
        ('error pages', 11),
        ('reopened', 8),
        ('socket errors', 13),
        ('socket ms max', 13),
        ('connected', 9),
        ('all open s', 10),
        ('portal CPU s', 12),
        ('healthz max ms', 14),
    )
    print(
        f'{len(tabs.tabs):>4} | {ms(statistics.median(pages) if pages else None):>11} | '
        f'{ms(max(pages) if pages else None):>11} | {tabs.burst_http_errors:>11} | {tabs.reopened:>8} | '
        f'{tabs.socket_errors:>13} | {ms(max(connects) if connects else None):>13} | {tabs.connected:>9} | '
        f'{seconds:>10.1f} | {cpu:>12.1f} | {ms(slowest_ms):>14}',
        flush=True,
    )


def print_rest(clients: int, idle_alone: float, idle_tabs: float, rss_before: int, rss_open: int) -> None:
    print('\nPortal at rest (nothing changes in AWS; the refresh still runs)')
    header(('tabs open', 9), ('CPU ms per s', 12), ('RSS MB', 6))
    print(f'{0:>9} | {idle_alone:>12,.0f} | {rss_before / 1024:>6,.0f}')
    print(f'{clients:>9} | {idle_tabs:>12,.0f} | {rss_open / 1024:>6,.0f}', flush=True)


CYCLE_COLUMNS = (
    ('cycle', 6),
    ('changed', 7),
    ('AWS calls', 9),
    ('wait ms', 7),
    ('sync ms', 7),
    ('first ms', 8),
    ('last ms', 7),
    ('push ms', 7),
    ('received', 8),
    ('portal CPU ms', 13),
    ('idle ms', 7),
    ('bench CPU ms', 12),
    ('healthz max ms', 14),
)


def print_cycles(
    under_load: Portal, rows: list[CycleRow], tabs: Tabs | None, idle: float, cycles: int
) -> None:
    """Runs the cycles, printing a line for each (`rows` gets them as they come) and the medians."""
    if not cycles:
        return
    clients = len(tabs.tabs) if tabs else 0
    print(
        f'\nPer cycle, {len(under_load.flipped)} training jobs change in AWS; '
        + (f'{clients} tabs open' if tabs else 'no tab open: the refresh alone, CPU until 1 s after it')
        + ' (ms from the change in moto unless said otherwise)'
    )
    header(*CYCLE_COLUMNS)

    def line(label: str, cells: list[str]) -> None:
        widths = [width for _, width in CYCLE_COLUMNS]
        print(' | '.join(f'{cell:>{width}}' for cell, width in zip([label, *cells], widths, strict=True)))

    for number in range(1, cycles + 1):
        row = one_cycle(under_load, tabs, idle)
        rows.append(row)
        line(
            str(number),
            [
                f'{row.changed:,}',
                f'{row.aws_calls:,}',
                ms(row.wait_ms),
                ms(row.sync_ms),
                ms(row.first_ms),
                ms(row.last_ms),
                ms(row.push_ms),
                f'{row.received}/{clients}',
                ms(row.cpu_ms),
                ms(row.idle_ms),
                ms(row.bench_ms),
                ms(row.slowest_ms),
            ],
        )
        sys.stdout.flush()

    received = [float(r.received) for r in rows]
    line(
        'median',
        [
            median([float(r.changed) for r in rows]),
            median([float(r.aws_calls) for r in rows]),
            median([r.wait_ms for r in rows]),
            median([r.sync_ms for r in rows]),
            median([r.first_ms for r in rows]),
            median([r.last_ms for r in rows]),
            median([r.push_ms for r in rows]),
            f'{median(list(received))}/{clients}',
            median([r.cpu_ms for r in rows]),
            median([r.idle_ms for r in rows]),
            median([r.bench_ms for r in rows]),
            median([r.slowest_ms for r in rows]),
        ],
    )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument('--jobs', type=int, default=2000, help='training jobs (3 compilation jobs each)')
    parser.add_argument('--clients', type=int, default=50, help='open tabs of `/`')
    parser.add_argument('--cycles', type=int, default=5, help='refreshes that bring a change to the tabs')
    parser.add_argument(
        '--cycles-alone', type=int, default=2, help='refreshes that bring a change before any tab is open'
    )
    parser.add_argument('--changes', type=int, default=100, help='training jobs changed per cycle')
    parser.add_argument('--refresh-seconds', type=float, default=5.0, help="the portal's DDA_REFRESH_SECONDS")
    parser.add_argument('--log', type=Path, help="keep the portal's output in this file")
    args = parser.parse_args()
    if not 0 < args.changes <= args.jobs:
        parser.error('--changes must be between 1 and --jobs')
    with tempfile.TemporaryDirectory() as folder:
        run(args, Path(folder))


if __name__ == '__main__':
    main()
