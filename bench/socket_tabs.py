"""Open portal pages without a browser, for bench/scale.py and bench/fleet_pages.py.

`Tabs(url, path, count)`: each tab requests the page over HTTP and connects its socket with the parameters
nicegui.js uses (python-socketio, websocket, implicit handshake, the page's session cookie: the portal takes
no socket from another session); like nicegui.js it drops messages seen before, acknowledges received ones
every 3 s (the server prunes its history then) and answers JavaScript requests. Every socket.io event a tab
receives is counted with its JSON size (compact JSON of the event's data, about what travels in the
websocket frame), and apart those `update` events that carry table rows. After `arm(predicate)`, each tab
notes the time (`time.time()`, ms) of the first event for which `predicate(event, data, text)` holds.

A tab that fails to open or whose socket is dropped stays in the list (not connected) with a line in
`problems`; `connected()` counts the others.

`Tabs.click(label)` clicks a button of the first tab's page the way nicegui.js does (a socket `event`
message naming the element and its click listener, found in the page's HTML), so `Refresh now` can be
pressed without a browser; `Tabs.notifications` collects the toasts the server sends (`notify`).

`HealthPoller(url, period)`: a thread that requests `/healthz` every `period` seconds and notes each
latency: how long anything else would have waited for the portal's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

import httpx

ACK_SECONDS = 3.0
Predicate = Callable[[str, Any, str], bool]


@dataclass
class Tab:
    index: int
    html: str = ''
    client_id: str = ''
    next_message_id: int = 0
    acked_message_id: int = 0
    socket: Any = None
    connected: bool = False
    closing: bool = False
    arrival: float | None = None
    events: int = 0  # since the last arm()
    bytes: int = 0  # since the last arm()
    table_bytes: int = 0  # since the last arm(): of `update` events that carry table rows
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Tabs:
    def __init__(self, url: str, path: str, count: int, concurrency: int = 5) -> None:
        self.url = url
        self.path = path
        self.tabs = [Tab(i) for i in range(count)]
        self.notifications: list[str] = []
        self.problems: list[str] = []
        self._predicate: Predicate | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._run(self._open_all(concurrency))

    # ---- measuring ----------------------------------------------------------------------------------

    def arm(self, predicate: Predicate | None = None) -> None:
        """Start counting events and bytes afresh; with a predicate, note each tab's first match."""
        for tab in self.tabs:
            tab.arrival, tab.events, tab.bytes, tab.table_bytes = None, 0, 0, 0
        self._predicate = predicate

    def wait(self, timeout: float = 120) -> list[float]:
        """Arrival times (ms since the epoch) of the tabs that matched within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(t.arrival is None for t in self.tabs):
            time.sleep(0.005)
        return [t.arrival for t in self.tabs if t.arrival is not None]

    def bytes_per_tab(self) -> list[int]:
        return [t.bytes for t in self.tabs]

    def events_per_tab(self) -> list[int]:
        return [t.events for t in self.tabs]

    def connected(self) -> int:
        return sum(t.connected for t in self.tabs)

    def click(self, label: str) -> None:
        """Click the button labelled `label` in the first tab, as nicegui.js would send the click."""
        tab = self.tabs[0]
        match = re.search(
            r'"(\d+)":\{"tag":"q-btn","props":\{[^{}]*"label":"' + re.escape(label) + r'"[^{}]*\},'
            r'"events":\[\{"listener_id":"([0-9a-f-]+)","type":"click"',
            tab.html,
        )
        if match is None:
            raise RuntimeError(f'no button {label!r} in {self.path}')
        message = {'id': int(match.group(1)), 'client_id': tab.client_id, 'listener_id': match.group(2)}
        self._run(tab.socket.emit('event', {**message, 'args': []}))

    def close(self) -> None:
        self._run(self._close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    # ---- the clients -------------------------------------------------------------------------------

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=900)

    async def _open_all(self, concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(tab: Tab) -> None:
            async with gate:
                try:
                    await self._open(tab)
                except Exception as error:  # counted: the bench reports tabs not connected
                    self.problems.append(f'tab {tab.index}: did not open: {type(error).__name__}: {error}')

        await asyncio.gather(*(one(tab) for tab in self.tabs))
        if not any(t.connected for t in self.tabs):
            raise RuntimeError(f'no tab of {self.path} connected: {self.problems[:3]}')

    async def _close_all(self) -> None:
        for tab in self.tabs:
            tab.closing = True
            for task in tab.tasks:
                task.cancel()
        await asyncio.gather(*(t.socket.disconnect() for t in self.tabs if t.socket), return_exceptions=True)

    async def _open(self, tab: Tab) -> None:
        import socketio

        async with httpx.AsyncClient() as http:
            response = await http.get(f'{self.url}{self.path}', timeout=300)
        if response.status_code != 200:
            raise RuntimeError(f'GET {self.path} answered HTTP {response.status_code}')
        tab.html = response.text
        cookie = '; '.join(f'{name}={value}' for name, value in response.cookies.items())
        client_id = re.search(r"'client_id': '([0-9a-f-]+)'", tab.html)
        next_id = re.search(r"'next_message_id': (\d+)", tab.html)
        if client_id is None:
            raise RuntimeError(f'no NiceGUI client id in {self.path}')
        tab.client_id = client_id.group(1)
        tab.next_message_id = tab.acked_message_id = int(next_id.group(1)) if next_id else 0
        tab.socket = socketio.AsyncClient(reconnection=False)
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
        await tab.socket.connect(
            f'{self.url}?{query}',
            socketio_path='/_nicegui_ws/socket.io',
            transports=['websocket'],
            headers={'Cookie': cookie}
            if cookie
            else {},  # the portal takes sockets of the page's session only
            wait_timeout=120,
        )
        tab.connected = True
        tab.tasks.append(asyncio.create_task(self._acknowledge(tab)))

    def _listen(self, tab: Tab) -> None:
        async def anything(event: str, data: Any = None) -> None:
            if isinstance(data, dict) and isinstance(data.get('_id'), int):
                if data['_id'] < tab.next_message_id:  # seen before (nicegui.js drops it too)
                    return
                tab.next_message_id = data['_id'] + 1
            text = json.dumps(data, separators=(',', ':'), ensure_ascii=False)
            size = len(text.encode())
            tab.events += 1
            tab.bytes += size
            if (event == 'update' and carries_rows(data)) or (
                event == 'run_javascript' and patched_rows(data)
            ):
                tab.table_bytes += size
            if event == 'notify' and tab.index == 0:
                self.notifications.append(str((data or {}).get('message', '')))
            elif event == 'run_javascript' and isinstance(data, dict):
                if 'reload' in str(data.get('code', '')):
                    self.problems.append(f'tab {tab.index}: the server asked for a reload')
                if data.get('request_id') is not None:
                    await tab.socket.emit(
                        'javascript_response',
                        {'request_id': data['request_id'], 'client_id': tab.client_id, 'result': None},
                    )
            elif event == 'try_reconnect':
                self.problems.append(f'tab {tab.index}: the server asked the tab to reconnect')
            predicate = self._predicate
            if tab.arrival is None and predicate is not None and predicate(event, data, text):
                tab.arrival = time.time() * 1000

        async def disconnect(reason: Any = None) -> None:
            if not tab.closing and tab.connected:
                tab.connected = False
                self.problems.append(f'tab {tab.index}: socket disconnected ({reason})')

        tab.socket.on('*', anything)
        tab.socket.on('disconnect', disconnect)

    async def _acknowledge(self, tab: Tab) -> None:
        while tab.connected:
            await asyncio.sleep(ACK_SECONDS)
            if tab.connected and tab.acked_message_id < tab.next_message_id:
                try:
                    await tab.socket.emit(
                        'ack', {'client_id': tab.client_id, 'next_message_id': tab.next_message_id}
                    )
                except Exception:
                    return
                tab.acked_message_id = tab.next_message_id


def patched_rows(data: Any) -> list[dict[str, Any]]:
    """The rows a `run_javascript` message of LiveTable.patch_rows carries (runMethod … "patchRows")."""
    code = str((data or {}).get('code', '')) if isinstance(data, dict) else ''
    if '"patchRows"' not in code:
        return []
    arguments = code.split('"patchRows",', 1)[1].strip().removesuffix(')').strip()
    try:
        rows = json.loads(arguments)[0]
    except (ValueError, IndexError, TypeError):
        return []
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def carries_rows(data: Any) -> bool:
    """Whether an `update` message carries a table's rows."""
    return isinstance(data, dict) and any(
        isinstance(element, dict) and 'rows' in (element.get('props') or {}) for element in data.values()
    )


def refresh(controller: Tabs, timeout: float = 600) -> float:
    """Press `Refresh now` in the controller's first tab; wait for the refresh's toast; the press time (ms).

    Raises if the toast is not `Refreshed from AWS`."""
    before = len(controller.notifications)
    pressed = time.time() * 1000
    controller.click('Refresh now')
    deadline = time.monotonic() + timeout
    while True:  # other toasts (a list page announces finished compilations) may come first
        outcomes = [
            n for n in controller.notifications[before:] if n.startswith(('Refreshed', 'Refresh failed'))
        ]
        if outcomes:
            break
        if time.monotonic() > deadline:
            raise RuntimeError('no toast after `Refresh now`')
        time.sleep(0.01)
    if 'Refreshed from AWS' not in outcomes[0]:
        raise RuntimeError(f'the refresh failed: {outcomes[0]}')
    return pressed


class HealthPoller:
    """`/healthz` every `period` seconds from a thread; `window(start, end)`: latencies (ms) of the
    requests sent between two `time.time()` instants."""

    def __init__(self, url: str, period: float = 0.02) -> None:
        self.url = url
        self.period = period
        self.samples: list[tuple[float, float]] = []  # (sent at, ms)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _poll(self) -> None:
        with httpx.Client(timeout=60) as http:
            while not self._stop.is_set():
                sent = time.time()
                start = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):
                    http.get(f'{self.url}/healthz')
                self.samples.append((sent, (time.perf_counter() - start) * 1000))
                time.sleep(max(0.0, self.period - (time.perf_counter() - start)))

    def window(self, start: float, end: float) -> list[float]:
        return [ms for sent, ms in list(self.samples) if start <= sent <= end]


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float('nan')
    return statistics.quantiles(values, n=20, method='inclusive')[-1]
