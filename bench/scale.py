"""The training-jobs list `/` and the training-job page at 10,000 jobs: first rows, server work, one live
change to 60 open tabs, memory.

    .venv/bin/python bench/scale.py [--jobs 10000] [--job-tabs 30] [--list-tabs 30] [--rss-tabs 50]
                                    [--runs 3] [--flips 3] [--skip load live rss]

Seeding (once per run, each part gets a copy; `--store-cache FILE` keeps the seeded file for later runs):
`--jobs` synthetic training jobs with 3 compilation targets each (every state represented, the
newest still training) written into a temporary SQLite store by `Store.apply(CycleResult(...))`, the road a
refresh takes (bench/seeding.py, the only place that touches the store's Python API). `main.py` runs as a
subprocess on a free 127.0.0.1 port (bench/common.py `portal()`, no sign-in on loopback, periodic refresh
off). The portal's CPU time and memory come from /proc/<pid> (10 ms ticks).

Table 1, first rows of `/` (the portal started afresh; browser figures are medians of `--runs` after a
warm-up):
- GET / first, GET / next: wall time of the whole HTTP response of `/` measured by httpx, for the first
  request after the portal started (only `/healthz` was asked before) and the median of 5 later ones; the
  portal's CPU ms across each (/proc, 10 ms ticks): the server's work for the first page;
- page KB: the size of that response;
- Chromium: Debian's headless Chromium (Playwright, flags of bench/common.py), a new browser context per
  run (cold: no cache, no cookies), from the start of the navigation (`performance.now()` counts from there)
  until the first page of rows (50) is in the DOM;
- bare: the same for bench/bare_table_app.py, one NiceGUI page with one 50-row `ui.table` and nothing else,
  started as a subprocess by this run (same NiceGUI), measured alternately with the list (list, bare, list,
  bare …) so that anything else the machine does weighs on both; ratio = list / bare (goal ≤ 1.1).

Table 2, one change pushed to open tabs: `--job-tabs` tabs of `/training-jobs/bench-00000` and `--list-tabs`
tabs of `/`, as socket clients without a browser (bench/socket_tabs.py: the page over HTTP, then its socket
with nicegui.js's parameters). The change takes the real road: moto runs in this process (the portal's
`AWS_ENDPOINT_URL`), holding one training job `bench-00000` with 3 compilation jobs, which a first
`Refresh now` brings into the store besides the seeded jobs; then each flip turns its x86_64-cpu compilation
job COMPLETED ↔ FAILED in moto's backend and presses `Refresh now` (one more socket client, on `/` filtered
to nothing, sends the button's click like nicegui.js). A job tab has the change when an update shows the new
rollup (`Compilation failed` / `Compiled`) in its header; a list tab when a table update carries the
`bench-00000` row with the new rollup. Columns (medians of `--flips` flips):
- last job tab / last list tab: ms from the refresh's commit to the last tab of that kind having it; the
  commit time is the store's record of that refresh (`SyncCycle.finished_at`, written right before the
  refresh tells the pages); `from press` is the same from the click (refresh and its AWS calls included);
- healthz max / p95: latency of `/healthz` requested every 20 ms by a thread of this process, from the press
  until the last tab had the change: how long anything else waited for the portal's event loop;
- portal CPU ms: the portal's CPU time meanwhile (refresh included).
Both kinds of tabs and the bench share the machine's CPUs with the portal.

Table 3, memory: VmRSS of the portal with `--jobs` jobs: started, after one GET /, and with `--rss-tabs` list
tabs (socket clients) open and settled for 5 s, and the peak (VmHWM). Goal ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from common import CHROMIUM_FLAGS, cpu_seconds, memory_kb, moto_server, portal  # noqa: E402
from seeding import PROBE, flip, last_refresh_end, seed_probe, seed_training_jobs  # noqa: E402
from socket_tabs import HealthPoller, Tabs, p95, patched_rows, refresh  # noqa: E402

from dda_portal import launch  # noqa: E402

ROWS_SHOWN = 50
ROWS_IN_DOM = f"document.querySelectorAll('.q-table tbody tr').length >= {ROWS_SHOWN}"
NOWHERE = 'http://127.0.0.1:9'  # no AWS: the load bench never refreshes
ROLLUP = {'FAILED': 'Compilation failed', 'COMPLETED': 'Compiled'}


def say(text: str) -> None:
    print(text, flush=True)


def seeded(work: Path, jobs: int, name: str, cache: Path | None) -> str:
    """A fresh copy of a store seeded once with `jobs` training jobs (seeding 10,000 takes minutes)."""
    base = cache or work / f'seeded-{jobs}.db'
    if not base.exists():
        start = time.perf_counter()
        seed_training_jobs(f'sqlite:///{base}', jobs)
        print(f'(seeded {jobs:,} training jobs in {time.perf_counter() - start:.0f} s)', file=sys.stderr)
    shutil.copyfile(base, work / name)
    return f'sqlite:///{work / name}'


# ---- table 1: the first rows -------------------------------------------------------------------------


def timed_get(url: str, pid: int) -> tuple[float, float, int]:
    """Wall ms, portal CPU ms and bytes of one GET."""
    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    response = httpx.get(url, timeout=120)
    wall = (time.perf_counter() - start) * 1000
    response.raise_for_status()
    return wall, (cpu_seconds(pid) - cpu) * 1000, len(response.content)


def first_rows_ms(browser: Any, url: str) -> float:
    """A new context (cold), navigation start → the first page of rows in the DOM (ms)."""
    context = browser.new_context(viewport={'width': 1400, 'height': 900})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(url, wait_until='commit')
        return float(page.wait_for_function(f'({ROWS_IN_DOM}) && performance.now()').json_value())
    finally:
        context.close()


def _serving(url: str) -> bool:
    return httpx.get(f'{url}/_nicegui/version', timeout=2).status_code < 500  # any answer but an error


@contextmanager
def bare_app(work: Path) -> Iterator[tuple[str, int]]:
    env, log_path = launch.environment(), work / 'bare.log'
    with launch.launched([], env, log_path, ready=_serving, within=60, script='bench/bare_table_app.py') as (
        url,
        process,
    ):
        yield url, process.pid


def bench_load(database: str, jobs: int, runs: int, work: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = shutil.which('chromium')
    if executable is None:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            with portal(database, NOWHERE, work) as (url, pid):
                first = timed_get(f'{url}/', pid)  # right after the start: it waits for the read of every job
                later = [timed_get(f'{url}/', pid) for _ in range(5)]
                with bare_app(work) as (bare_url, bare_pid):
                    timed_get(f'{bare_url}/', bare_pid)
                    bare_get = statistics.median(timed_get(f'{bare_url}/', bare_pid)[0] for _ in range(5))
                    # alternately, so that whatever else the machine does weighs on both alike
                    first_rows_ms(browser, f'{url}/'), first_rows_ms(browser, f'{bare_url}/')  # warm-up
                    pairs = [
                        (first_rows_ms(browser, f'{url}/'), first_rows_ms(browser, f'{bare_url}/'))
                        for _ in range(runs)
                    ]
            listed = statistics.median(p[0] for p in pairs)
            bare = statistics.median(p[1] for p in pairs)
        finally:
            browser.close()
    next_wall = statistics.median(w for w, _, _ in later)
    next_cpu = statistics.median(c for _, c, _ in later)
    say(
        f'\nFirst rows of `/` with {jobs:,} training jobs × 3 targets '
        f'(Chromium: median of {runs} after a warm-up)'
    )
    say(
        f'{"":>10} | {"GET / first ms":>14} | {"CPU ms":>6} | {"GET / next ms":>13} | {"CPU ms":>6} | '
        f'{"page KB":>7} | {"Chromium first rows ms":>22}'
    )
    say('-' * 98)
    say(
        f'{"list /":>10} | {first[0]:>14.0f} | {first[1]:>6.0f} | {next_wall:>13.0f} | {next_cpu:>6.0f} | '
        f'{first[2] / 1024:>7.0f} | {listed:>22.0f}'
    )
    say(f'{"bare table":>10} | {"":>14} | {"":>6} | {bare_get:>13.0f} | {"":>6} | {"":>7} | {bare:>22.0f}')
    say(
        f'ratio list / bare in Chromium: {listed / bare:.2f} (goal ≤ 1.1); '
        'server work for GET /: goal ≤ 100 ms'
    )


# ---- table 2: one change to open tabs ----------------------------------------------------------------


def job_tab_has(rollup: str) -> Any:
    def predicate(event: str, data: Any, _text: str) -> bool:
        return (
            event == 'update'
            and isinstance(data, dict)
            and any(isinstance(element, dict) and element.get('text') == rollup for element in data.values())
        )

    return predicate


def list_tab_has(rollup: str) -> Any:
    def predicate(event: str, data: Any, _text: str) -> bool:
        if not isinstance(data, dict):
            return False
        if event == 'run_javascript':  # a live table's changed rows (LiveTable.patch_rows)
            rows = patched_rows(data)
        elif event == 'update':
            rows = [
                row
                for element in data.values()
                if isinstance(element, dict)
                for row in ((element.get('props') or {}).get('rows') or [])
            ]
        else:
            return False
        return any(row.get('name') == PROBE and row.get('rollup') == rollup for row in rows)

    return predicate


def bench_live(
    database: str, jobs: int, job_tabs: int, list_tabs: int, flips: int, wait_s: float, work: Path
) -> None:
    with moto_server() as endpoint:
        probe = seed_probe()
        with portal(database, endpoint, work) as (url, pid):
            controller = Tabs(url, '/?q=no-such-training-job', 1)
            refresh(controller)  # brings bench-00000 in
            opened = time.perf_counter()
            jobs_open = Tabs(url, f'/training-jobs/{PROBE}', job_tabs) if job_tabs else None
            job_open_s = time.perf_counter() - opened
            print(f'(job tabs open in {job_open_s:.1f} s)', file=sys.stderr, flush=True)
            opened = time.perf_counter()
            lists_open = Tabs(url, '/', list_tabs) if list_tabs else None
            list_open_s = time.perf_counter() - opened
            print(f'(list tabs open in {list_open_s:.1f} s)', file=sys.stderr, flush=True)
            time.sleep(3)
            open_ok = [g.connected() if g else 0 for g in (jobs_open, lists_open)]
            rows = []
            try:
                with HealthPoller(url, 0.02) as poller:
                    time.sleep(1)
                    idle = poller.window(time.time() - 1, time.time())
                    lost = ''
                    for _ in range(flips):
                        rollup = ROLLUP[flip(probe)]
                        groups = [g for g in (jobs_open, lists_open) if g]
                        if jobs_open:
                            jobs_open.arm(job_tab_has(rollup))
                        if lists_open:
                            lists_open.arm(list_tab_has(rollup))
                        cpu = cpu_seconds(pid)
                        pressed = time.time() * 1000
                        try:
                            refresh(controller, timeout=wait_s)
                        except RuntimeError as error:  # the controller's socket was dropped: no toast
                            lost = f"the flip's refresh: {error}"
                        arrivals = [g.wait(timeout=wait_s) for g in groups]
                        done = time.time()
                        cpu_ms = (cpu_seconds(pid) - cpu) * 1000
                        committed = last_refresh_end(database)
                        commit_ms = committed.timestamp() * 1000 if committed else pressed
                        got = {'job': [], 'list': []}
                        for group, times in zip(groups, arrivals, strict=True):
                            got['job' if group is jobs_open else 'list'] = times
                        health = poller.window(pressed / 1000, done)
                        rows.append(
                            (
                                max(got['job'], default=float('nan')) - commit_ms,
                                max(got['list'], default=float('nan')) - commit_ms,
                                max([*got['job'], *got['list']], default=float('nan')) - pressed,
                                max(health),
                                p95(health),
                                cpu_ms,
                                len(got['job']),
                                len(got['list']),
                            )
                        )
                        print(f'(flip: {rows[-1]})', file=sys.stderr, flush=True)
                        if lost:
                            break  # nothing left to press the button with
                        time.sleep(5)  # highlights end, the tabs settle
            finally:
                problems = [p for g in (jobs_open, lists_open, controller) if g for p in g.problems]
                disconnected = sum(len(g.tabs) - g.connected() for g in (jobs_open, lists_open) if g)
                for group in (jobs_open, lists_open, controller):
                    if group:
                        group.close()
    say(
        f'\nOne change pushed to {job_tabs} tabs of /training-jobs/{PROBE} and {list_tabs} tabs of `/` '
        f'({jobs:,} training jobs; socket clients; medians of {flips} flips)'
    )
    say(
        f'(opening the tabs took {job_open_s:.1f} s and {list_open_s:.1f} s, {open_ok[0]}/{job_tabs} and '
        f'{open_ok[1]}/{list_tabs} connected 3 s later; /healthz at rest: '
        f'max {max(idle):.0f} ms, p95 {p95(idle):.0f} ms)'
    )
    say(
        f'{"last job tab ms":>15} | {"last list tab ms":>16} | {"last tab from press ms":>22} | '
        f'{"healthz max ms":>14} | {"healthz p95 ms":>14} | {"portal CPU ms":>13} | {"tabs updated":>12}'
    )
    say('-' * 124)
    med = [statistics.median(column) for column in zip(*rows, strict=True)]
    updated = f'{min(r[6] for r in rows)}/{job_tabs} + {min(r[7] for r in rows)}/{list_tabs}'
    say(
        f'{med[0]:>15.0f} | {med[1]:>16.0f} | {med[2]:>22.0f} | {med[3]:>14.0f} | {med[4]:>14.0f} | '
        f'{med[5]:>13.0f} | {updated:>12}'
    )
    say("(ms after the refresh commits: from the store's record of the refresh; goals ≤ 1 s and ≤ 100 ms)")
    say(
        f'(tabs updated: fewest per flip within {wait_s:.0f} s; flips measured: {len(rows)}; '
        f'tabs whose socket the portal dropped: {disconnected}; {len(problems)} socket problems)'
    )
    if lost:
        say(f'    {lost}; the following flips were not run')
    for problem in problems[:10]:
        say(f'    {problem}')


# ---- table 3: memory ---------------------------------------------------------------------------------


def bench_rss(database: str, jobs: int, tabs: int, work: Path) -> None:
    with portal(database, NOWHERE, work) as (url, pid):
        started = memory_kb(pid, 'VmRSS')
        httpx.get(f'{url}/', timeout=120).raise_for_status()
        after_get = memory_kb(pid, 'VmRSS')
        opened = time.perf_counter()
        clients = Tabs(url, '/', tabs)
        open_s = time.perf_counter() - opened
        try:
            time.sleep(5)
            with_tabs = memory_kb(pid, 'VmRSS')
            peak = memory_kb(pid, 'VmHWM')
            connected = clients.connected()
        finally:
            clients.close()
    say(
        f'\nPortal memory with {jobs:,} training jobs '
        f'(VmRSS, MB; {tabs} list tabs took {open_s:.0f} s to open)'
    )
    say(f'{"started":>7} | {"after GET /":>11} | {f"{tabs} tabs open":>13} | {"peak":>6} | {"connected":>9}')
    say('-' * 60)
    say(
        f'{started / 1024:>7.0f} | {after_get / 1024:>11.0f} | {with_tabs / 1024:>13.0f} | '
        f'{peak / 1024:>6.0f} | '
        f'{connected:>9}'
    )
    say('(goal ≤ 300 MB)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument('--jobs', type=int, default=10_000)
    parser.add_argument('--job-tabs', type=int, default=30)
    parser.add_argument('--list-tabs', type=int, default=30)
    parser.add_argument('--rss-tabs', type=int, default=50)
    parser.add_argument('--runs', type=int, default=3, help='Chromium runs after the warm-up')
    parser.add_argument('--flips', type=int, default=3)
    parser.add_argument('--wait', type=float, default=60, help='seconds a flip waits for the tabs')
    parser.add_argument('--skip', nargs='*', default=[], choices=['load', 'live', 'rss'])
    parser.add_argument(
        '--store-cache', type=Path, help='seeded store file to reuse (made if missing; same --jobs only)'
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if 'load' not in args.skip:
            bench_load(seeded(work, args.jobs, 'load.db', args.store_cache), args.jobs, args.runs, work)
        if 'live' not in args.skip:
            bench_live(
                seeded(work, args.jobs, 'live.db', args.store_cache),
                args.jobs,
                args.job_tabs,
                args.list_tabs,
                args.flips,
                args.wait,
                work,
            )
        if 'rss' not in args.skip:
            bench_rss(seeded(work, args.jobs, 'rss.db', args.store_cache), args.jobs, args.rss_tabs, work)


if __name__ == '__main__':
    main()
