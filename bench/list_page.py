"""The training-jobs list (`/`) at scale: browser times for 100 / 1,000 / 2,000 jobs, live updates to N tabs.

    .venv/bin/python bench/list_page.py [--sizes 100 1000 2000] [--tabs 1 10 30] [--clients 1 10 30 100]
                                        [--live-jobs 2000]

Every run writes synthetic training jobs (3 targets each, every state represented) into a temporary SQLite
store through `Store.apply(CycleResult(...))`, the road the refresh takes, and starts `main.py` as a
subprocess on a free 127.0.0.1 port with `DDA_SYNC_ENABLED=false`. Debian's headless Chromium (Playwright,
flags as in the e2e tests) opens the page.

Table 1, page: per size (browser ms are medians of 3 runs after one warm-up):
- server load: the first page's load work in this process with the same functions (store queries, one entry
  per job, filter and sort in Python, the first page's rows); later pages reuse the jobs read then;
- page JSON: the rows one page carries (filtering, sorting and paging happen on the server, QTable's server
  mode); all rows: what the browser would get on load and on every live update if it held all rows
  (client-side paging, the alternative measured against); page HTML: the whole response of `/`;
- load: from the start of navigation until the first page of rows is in the DOM (a new browser page per run);
- filter: from the click on the `Compilation failed` chip until the DOM shows the filtered rows and the
  "Showing n of m" line (event → server → update), measured in the page (click listener, MutationObserver);
- sort: likewise, from the click on the `Training job` header until the alphabetically first job is on top.

Table 2, live update to Chromium tabs: how long one change takes to reach 1 / 10 / 30 open tabs of `/`,
unfiltered. Timing the server's share from outside needs no test-only hook if the change takes the real road:
the bench hosts moto in this process (the portal's `AWS_ENDPOINT_URL` points at it, the refresh is the real
one), flips one compilation job between FAILED and COMPLETED in moto's backend and clicks `Refresh now` in
the first tab. Each tab notes (MutationObserver, `Date.now()`, same clock as the bench) when its rollup chip
counts change; the columns are milliseconds from the click to the first and to the last tab (medians of 3
flips). `portal CPU` is the CPU time the portal process used meanwhile (/proc, 10 ms ticks): one refresh
cycle (a handful of AWS calls to moto) plus every tab's handler and push. `handler est.` is measured in
this process: reading the change from the store once (one `ListFeed` serves all tabs) plus one tab's
handler (filter, sort and chip counts over all jobs, the page's rows and their JSON) times the number of
tabs, the server's own share without sockets and browsers. `reloaded` counts tab updates lost because the
tab reloaded: NiceGUI drops a socket that misses its ping (2 s with the default 3 s reconnect timeout) and
reloads the tab. Chromium, the portal and this script share the machine's CPUs; 30 Chromium tabs of a
NiceGUI page starve a 2-CPU machine, so that row measures the machine more than the server.

Table 3, live update to socket clients: the same change pushed to 1 / 10 / 30 / 100 open pages without a
browser: each page is requested over HTTP and its socket connected with the parameters nicegui.js uses
(python-socketio in a thread of this process); each client notes when its first table update arrives. One
Chromium tab, filtered to nothing, clicks `Refresh now`. This is the server's time to push one update to N
tabs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import CHROMIUM_FLAGS, cpu_seconds, has_table, moto_server, portal  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

from dda_portal import queries  # noqa: E402
from dda_portal.domain.clock import utcnow  # noqa: E402
from dda_portal.domain.filters import ListFilter, rollup_counts  # noqa: E402
from dda_portal.domain.status import CompilationStatus  # noqa: E402
from dda_portal.queries.refresh import CompilationJobFacts, CycleResult, TrainingJobFacts  # noqa: E402
from dda_portal.store import Store  # noqa: E402

TARGETS = {'jetson-xavier': 'NVIDIA Jetson Xavier', 'x86_64-cpu': 'x86_64 CPU', 'arm64-cpu': 'ARM64 CPU'}
STATES = [CompilationStatus.COMPLETED] * 6 + [
    CompilationStatus.FAILED,
    CompilationStatus.IN_PROGRESS,
    CompilationStatus.STARTING,
    CompilationStatus.STOPPED,
]
UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file'
)
ROWS_PER_PAGE = 50
PROBE = 'bench-00000'  # the training job moto knows (bench/sync_cost.py's seed names it so)
CHIP_TEXTS = "[...document.querySelectorAll('.q-chip')].map(chip => chip.innerText).join('|')"
WATCH_CHIPS = f"""() => {{
    window.__updatedAt = null;
    const before = {CHIP_TEXTS};
    if (window.__watch) window.__watch.disconnect();
    window.__watch = new MutationObserver(() => {{
        if (window.__updatedAt === null && {CHIP_TEXTS} !== before) window.__updatedAt = Date.now();
    }});
    window.__watch.observe(document.body, {{subtree: true, childList: true, characterData: true}});
}}"""


def synthetic_cycle(count: int, seed: int = 7) -> CycleResult:
    """`count` training jobs an hour apart, each with an attempt for every target in a random state."""
    rnd = random.Random(seed)
    now = utcnow()
    training: list[TrainingJobFacts] = []
    compiling: list[CompilationJobFacts] = []
    for i in range(count):
        name = f'synthetic-{rnd.choice(["bottle", "pcb", "weave", "glass"])}-{i:05d}'
        created = now - timedelta(hours=count - i + 3)
        still_training = i == count - 1
        training.append(
            TrainingJobFacts(
                name=name,
                arn=f'arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}',
                status='In progress' if still_training else 'Completed',
                secondary_status=None,
                failure_reason=None,
                created_at=created,
                started_at=created,
                ended_at=None if still_training else created + timedelta(minutes=rnd.randint(20, 90)),
                last_modified=created,
                instance_type='ml.g4dn.xlarge',
                instance_count=1,
                model_artifact=f's3://bench/out/{name}/output/model.tar.gz',
                output_prefix=f's3://bench/out/{name}/',
                billable_seconds=1800,
                training_seconds=1800,
            )
        )
        if still_training:
            continue
        for target, label in TARGETS.items():
            status = rnd.choice(STATES)
            started = created + timedelta(hours=2)
            final = status.is_final
            job = f'{name}-{target.replace("_", "-")}-1'
            compiling.append(
                CompilationJobFacts(
                    name=job,
                    arn=f'arn:aws:sagemaker:us-east-1:123456789012:compilation-job/{job}',
                    status=status,
                    failure_reason=UNTAR if status is CompilationStatus.FAILED else None,
                    created_at=started,
                    started_at=None if status is CompilationStatus.STARTING else started,
                    ended_at=started + timedelta(seconds=rnd.randint(120, 900)) if final else None,
                    last_modified=started,
                    artifact=None,
                    input_uri=f's3://bench/out/{name}/output/model.tar.gz',
                    framework='PYTORCH',
                    max_runtime_seconds=900,
                    target_id=target,
                    target_label=label,
                    tags={'dda-portal:training-job': name},
                )
            )
    return CycleResult(started_at=now, aws_calls=0, training_jobs=training, compilation_jobs=compiling)


def page_load_work(store: Store) -> tuple[list[Any], list[dict[str, Any]]]:
    """The first page load's work without NiceGUI: read all jobs, sort them, the first page's rows.

    (Later pages start from what the first one read: they skip the store.)
    """
    from dda_portal.pages.training_jobs.columns import training_job_row
    from dda_portal.pages.training_jobs.feed import read_all, sort_like_table

    entries = list(store.read(read_all).values())
    durations: dict[str, list[float]] = {}
    for _, target_id, seconds in store.read(queries.jobs.completed_durations):
        durations.setdefault(target_id, []).append(seconds)
    ordered = sort_like_table(entries, {'sortBy': 'created', 'descending': True})
    rows = [training_job_row(e.job, e.latest, durations) for e in ordered[:ROWS_PER_PAGE]]
    return ordered, rows


def handler_cost(store: Store, changed: str) -> tuple[float, float]:
    """Seconds of one live update for one changed job: read once for all tabs, then each tab's share.

    A tab's share: filter, sort and chip counts over all jobs, the page's rows and their JSON.
    """
    from nicegui import json as nicegui_json

    from dda_portal.pages.training_jobs.columns import training_job_row
    from dda_portal.pages.training_jobs.feed import read_change, sort_like_table

    entries, _ = page_load_work(store)
    by_name = {e.job.name: e for e in entries}
    start = time.perf_counter()
    now = store.read(read_change, frozenset({changed}))
    shared = time.perf_counter() - start
    start = time.perf_counter()
    by_name.update(now)
    everything = ListFilter()
    ordered = sort_like_table(
        [e for e in by_name.values() if everything.matches(e.listed)],
        {'sortBy': 'created', 'descending': True},
    )
    rollup_counts((e.listed for e in by_name.values()), everything)
    rows = [training_job_row(e.job, e.latest, {}) for e in ordered[:ROWS_PER_PAGE]]
    nicegui_json.dumps({'rows': rows, 'pagination': {'rowsNumber': len(ordered)}})
    return shared, time.perf_counter() - start


# records, in the page, the time of the next click and the first DOM change after it that satisfies `check`
WATCH_CLICK = """([check, arg]) => {
    const done = new Function('arg', 'return (' + check + ')(arg)');
    window.__clickAt = null;
    window.__doneAt = null;
    const clicked = () => { window.__clickAt = performance.now(); };
    document.addEventListener('click', clicked, {capture: true, once: true});
    const observer = new MutationObserver(() => {
        if (window.__clickAt !== null && window.__doneAt === null && done(arg)) {
            window.__doneAt = performance.now();
            observer.disconnect();
        }
    });
    observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""
ROWS = "rows => document.querySelectorAll('.q-table tbody tr').length === rows"
# the rows and the "Showing n of m" line arrive in the same update
ROWS_AND_LINE = (
    "([rows, filtered]) => document.querySelectorAll('.q-table tbody tr').length === rows"
    " && document.body.innerText.includes('Showing ') === filtered"
)
FIRST_NAME = "name => document.querySelector('.q-table tbody tr a')?.innerText === name"


def click_ms(page: Page, click: Callable[[], None], check: str, arg: object) -> float:
    """Milliseconds in the browser from the click event to the DOM showing the result."""
    page.evaluate(WATCH_CLICK, [check, arg])
    click()
    page.wait_for_function('window.__doneAt !== null', timeout=60_000)
    return float(page.evaluate('window.__doneAt - window.__clickAt'))


def page_times(browser: Browser, url: str, count: int, failed: int, first_name: str) -> tuple[float, ...]:
    """Milliseconds: load until the first rows show, filter by a chip, sort by name."""
    shown = min(50, count)
    page = browser.new_page(viewport={'width': 1400, 'height': 900})
    page.set_default_timeout(60_000)
    try:
        page.goto(url, wait_until='commit')
        # from the start of the navigation (performance.now() counts from there) until the rows are there
        load = page.wait_for_function(f'({ROWS})({shown}) && performance.now()', timeout=60_000).json_value()
        page.wait_for_timeout(1000)  # let the socket connect and the browser settle before clicking
        chip = page.locator('.q-chip', has_text='Compilation failed ·')
        filtering = click_ms(page, chip.click, ROWS_AND_LINE, [min(50, failed), True])
        click_ms(page, chip.click, ROWS_AND_LINE, [shown, False])
        header = page.get_by_role('columnheader', name='Training job')
        sorting = click_ms(page, header.click, FIRST_NAME, first_name)
        return float(load), filtering, sorting
    finally:
        page.close()


def bench_pages(browser: Browser, sizes: list[int], work: Path) -> None:
    from nicegui import json as nicegui_json

    from dda_portal.pages.training_jobs.columns import training_job_row

    print('\nTraining-jobs list, one tab (browser ms are medians of 3 runs after a warm-up)')
    print(
        f'{"training jobs":>13} | {"server load ms":>14} | {"page JSON KB":>12} | {"all rows KB":>11} | '
        f'{"page HTML KB":>12} | {"load ms":>7} | {"filter ms":>9} | {"sort ms":>7}'
    )
    print('-' * 109)
    for size in sizes:
        database = f'sqlite:///{work / f"list-{size}.db"}'
        store = Store(database)
        store.apply(synthetic_cycle(size))
        page_load_work(store)  # imports and caches warm
        start = time.perf_counter()
        entries, rows = page_load_work(store)
        load_ms = (time.perf_counter() - start) * 1000
        page_kb = len(nicegui_json.dumps(rows)) / 1024
        # what every update would carry if the browser held all rows (client-side paging)
        all_kb = len(nicegui_json.dumps([training_job_row(e.job, e.latest, {}) for e in entries])) / 1024
        failed = sum(e.job.rollup == 'Compilation failed' for e in entries)
        first_name = min(e.job.name for e in entries)
        with portal(database, 'http://127.0.0.1:9', work) as (url, _pid):
            html_kb = len(httpx.get(url, timeout=30).content) / 1024
            page_times(browser, url, size, failed, first_name)  # warm-up
            runs = [page_times(browser, url, size, failed, first_name) for _ in range(3)]
        load, filtering, sorting = (statistics.median(column) for column in zip(*runs, strict=True))
        print(
            f'{size:>13,} | {load_ms:>14.0f} | {page_kb:>12,.0f} | {all_kb:>11,.0f} | {html_kb:>12,.0f} | '
            f'{load:>7.0f} | {filtering:>9.0f} | {sorting:>7.0f}',
            flush=True,
        )


def update_time(page: Page) -> float | None:
    """When the tab saw the update (`Date.now()`), or None if it was reloaded meanwhile."""
    try:
        page.wait_for_function('window.__updatedAt !== null', timeout=60_000)
        opened, updated = page.evaluate('[window.__opened === true, window.__updatedAt]')
        if opened:
            return float(updated)
    except PlaywrightError as error:
        if not gone(error):
            raise
    for _ in range(3):  # mark the reloaded page once it is there
        try:
            page.wait_for_selector('.q-table tbody tr', timeout=60_000)
            page.evaluate('window.__opened = true')
            break
        except PlaywrightError as error:
            if not gone(error):
                raise
    return None


def gone(error: Exception) -> bool:
    """Playwright lost the document: the tab is reloading."""
    return 'destroyed' in str(error) or 'navigat' in str(error)


def bench_live(
    browser: Browser, jobs: int, tab_counts: list[int], client_counts: list[int], work: Path
) -> None:
    from moto.sagemaker.models import sagemaker_backends

    from dda_portal.domain.naming import compilation_job_name

    sys.path.insert(0, str(ROOT / 'bench'))
    from sync_cost import seed  # one training job with three compilation jobs, straight into moto

    with moto_server() as endpoint:
        seed(1)
        probe = sagemaker_backends['123456789012']['us-east-1'].compilation_jobs[
            compilation_job_name(PROBE, 'x86_64-cpu', 1)
        ]
        database = f'sqlite:///{work / "live.db"}'
        store = Store(database)
        store.apply(synthetic_cycle(jobs))
        shared, per_tab = handler_cost(store, store.read(queries.jobs.training_jobs)[0].name)
        with portal(database, endpoint, work) as (url, pid):
            if tab_counts:
                print(f'\nOne live update to N Chromium tabs of `/` ({jobs:,} training jobs; medians of 3)')
                print(
                    f'{"tabs":>4} | {"first tab ms":>12} | {"last tab ms":>11} | {"portal CPU ms":>13} | '
                    f'{"handler est. ms":>15} | {"reloaded":>8}'
                )
                print('-' * 79)
                for tabs in tab_counts:
                    live_in_browsers(browser, url, pid, probe, tabs, (shared + per_tab * tabs) * 1000)
            if client_counts:
                print(f'\nOne live update to N socket clients of `/` ({jobs:,} training jobs; medians of 3)')
                print(
                    f'{"clients":>7} | {"first ms":>8} | {"last ms":>7} | {"portal CPU ms":>13} | '
                    f'{"handler est. ms":>15}'
                )
                print('-' * 63)
                for clients in client_counts:
                    live_in_socket_clients(
                        browser, url, pid, probe, clients, (shared + per_tab * clients) * 1000
                    )


def flip(probe: Any) -> None:
    """The probe compilation job changes state in moto, so its training job's rollup changes."""
    failed = probe.compilation_job_status == 'FAILED'
    probe.compilation_job_status = 'COMPLETED' if failed else 'FAILED'
    probe.last_modified_time = datetime.now(UTC).replace(tzinfo=None)


def refresh_now(page: Page) -> None:
    """Click `Refresh now` and check that the refresh from moto worked."""
    before = page.locator('.q-notification').count()
    page.get_by_role('button', name='Refresh now').click(timeout=120_000)
    page.wait_for_function(f"document.querySelectorAll('.q-notification').length > {before}", timeout=60_000)
    outcome = page.locator('.q-notification').last.inner_text()
    if 'Refreshed from AWS' not in outcome and 'Compilation' not in outcome:
        raise RuntimeError(f'the refresh from moto failed: {outcome}')


def live_in_browsers(browser: Browser, url: str, pid: int, probe: Any, tabs: int, estimate: float) -> None:
    pages: list[Page] = []
    try:
        for _ in range(tabs):
            page = browser.new_page(viewport={'width': 1400, 'height': 900})
            page.goto(url)
            page.wait_for_selector('.q-table tbody tr')
            page.evaluate('window.__opened = true')  # gone if the tab reloads
            pages.append(page)
        time.sleep(2)  # every tab connected and settled
        refresh_now(pages[0])  # the first refresh brings the probe job in
        time.sleep(3)
        results: list[tuple[float, float, float]] = []
        reloaded = 0
        for _ in range(3):  # each flip changes the rollup, so every tab's chip counts change
            flip(probe)
            for page in pages:
                page.evaluate(WATCH_CHIPS)
            cpu_before = cpu_seconds(pid)
            button = pages[0].get_by_role('button', name='Refresh now')
            button.wait_for(timeout=120_000)  # the first tab may be reloading
            clicked = time.time() * 1000
            button.click()
            times = []
            for page in pages:
                updated = update_time(page)
                if updated is not None:
                    times.append(updated - clicked)
                else:  # the page was reloaded: it has no record of the update
                    reloaded += 1
            cpu = (cpu_seconds(pid) - cpu_before) * 1000
            if times:
                results.append((min(times), max(times), cpu))
            time.sleep(5)  # highlights end, toasts go, the tabs settle
        if not results:
            print(f'{tabs:>4} | every tab reloaded during every update', flush=True)
            return
        first, last, cpu = (statistics.median(column) for column in zip(*results, strict=True))
        print(
            f'{tabs:>4} | {first:>12.0f} | {last:>11.0f} | {cpu:>13.0f} | {estimate:>15.0f} | {reloaded:>8}',
            flush=True,
        )
    finally:
        for page in pages:
            page.close()


class SocketClients:
    """N open list pages without a browser: each page is requested over HTTP and its socket connected with
    the parameters nicegui.js uses; each client notes when its first table update after `arm()` arrives."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.arrivals: list[float] = []
        self._armed = False
        self._seen: set[int] = set()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._clients = self._run(self._open_all(count))

    def arm(self) -> None:
        self._seen.clear()
        self.arrivals.clear()
        self._armed = True

    def wait(self, count: int, timeout: float = 60) -> list[float]:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        self._armed = False
        return list(self.arrivals)

    def close(self) -> None:
        self._run(self._close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _close_all(self) -> None:
        await asyncio.gather(*(client.disconnect() for client in self._clients))

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=600)

    async def _open_all(self, count: int) -> list[Any]:
        return [await self._open(index) for index in range(count)]

    async def _open(self, index: int) -> Any:
        import socketio

        async with httpx.AsyncClient() as http:
            html = (await http.get(f'{self.url}/', timeout=30)).text
        match = re.search(r"'client_id': '([0-9a-f-]+)'", html)
        if match is None:
            raise RuntimeError('no NiceGUI client id in the page')
        client = socketio.AsyncClient(reconnection=False)

        def update(data: dict[str, Any]) -> None:
            if self._armed and index not in self._seen and has_table(data):
                self._seen.add(index)
                self.arrivals.append(time.time() * 1000)

        client.on('update', update)
        query = urlencode(
            {
                'client_id': match.group(1),
                'tab_id': str(uuid4()),
                'document_id': str(uuid4()),
                'next_message_id': 0,
                'implicit_handshake': 'true',
            }
        )
        await client.connect(
            f'{self.url}?{query}', socketio_path='/_nicegui_ws/socket.io', transports=['websocket']
        )
        return client


def live_in_socket_clients(
    browser: Browser, url: str, pid: int, probe: Any, count: int, estimate: float
) -> None:
    controller = browser.new_page()  # clicks `Refresh now`; filtered to nothing, so it is cheap to update
    clients = SocketClients(url, count)
    try:
        controller.goto(f'{url}/?q=no-such-training-job')
        controller.get_by_role('button', name='Refresh now').wait_for()
        time.sleep(2)
        refresh_now(controller)
        time.sleep(2)
        results = []
        for _ in range(3):
            flip(probe)
            clients.arm()
            cpu_before = cpu_seconds(pid)
            clicked = time.time() * 1000
            controller.get_by_role('button', name='Refresh now').click()
            arrivals = clients.wait(count)
            cpu = (cpu_seconds(pid) - cpu_before) * 1000
            if len(arrivals) < count:
                raise RuntimeError(f'only {len(arrivals)} of {count} clients got the update')
            results.append((min(arrivals) - clicked, max(arrivals) - clicked, cpu))
            time.sleep(5)
        first, last, cpu = (statistics.median(column) for column in zip(*results, strict=True))
        print(f'{count:>7} | {first:>8.0f} | {last:>7.0f} | {cpu:>13.0f} | {estimate:>15.0f}', flush=True)
    finally:
        clients.close()
        controller.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument('--sizes', type=int, nargs='*', default=[100, 1000, 2000])
    parser.add_argument('--tabs', type=int, nargs='*', default=[1, 10, 30])
    parser.add_argument('--clients', type=int, nargs='*', default=[1, 10, 30, 100])
    parser.add_argument('--live-jobs', type=int, default=2000)
    args = parser.parse_args()
    executable = shutil.which('chromium')
    if executable is None:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            if args.sizes:
                bench_pages(browser, args.sizes, Path(folder))
            if args.tabs or args.clients:
                bench_live(browser, args.live_jobs, args.tabs, args.clients, Path(folder))
        finally:
            browser.close()


if __name__ == '__main__':
    main()
