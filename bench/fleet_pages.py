"""`/devices` and `/components` with a large Greengrass fleet: what a refresh costs per open tab.

    .venv/bin/python bench/fleet_pages.py [--devices 5000] [--per-device 10] [--components 50]
                                          [--tabs 1 10 30] [--pages /devices /components]

Setup. The Greengrass v2 emulator (dda_portal/demo/greengrass) runs in this process, served over HTTP by its
server in a thread; its backend is seeded directly (bench/seeding.py `seed_fleet`): `--components` model
components (one DEPLOYABLE version each, not linked to a training job) and `--devices` core devices, each
running `--per-device` of them. moto (SageMaker, empty) runs in this process too. `main.py` runs as a
subprocess on a free 127.0.0.1 port with `DDA_GREENGRASS_ENABLED=true`, boto3's
`AWS_ENDPOINT_URL_GREENGRASSV2` pointing at the emulator and `DDA_DEVICE_REFRESH_SECONDS=0.001`, so every
refresh reads the whole fleet (the portal's real device inventory: ListCoreDevices, one
ListInstalledComponents per device); the periodic refresh is off. The store starts empty; a first refresh
brings the fleet in.

Refreshes are triggered by `Refresh now`, sent by one socket client on `/` (filtered to nothing) the way
nicegui.js sends a click (bench/socket_tabs.py); the refresh is over when that client gets its toast. Tabs
are socket clients without a browser (the page over HTTP, then its socket with nicegui.js's parameters);
each counts every socket.io event it receives and its compact-JSON size.

Per page and number of open tabs N (0 first: the refresh alone), two refreshes:
- no change: nothing changed in the emulator since the last refresh;
- one change: one installed component of one device went RUNNING ↔ BROKEN and the device HEALTHY ↔
  UNHEALTHY, in the emulator's backend.
Columns:
- refresh s: from the press until the toast;
- net CPU ms: the portal's CPU time (/proc, 10 ms ticks) from the press until 2 s after the toast, less
  what it uses at rest with those tabs open in as much time;
- CPU ms/tab: the portal's CPU time (/proc, 10 ms ticks) from the press until 2 s after the toast, less what
  it uses at rest with those tabs open in as much time (measured for 5 s before: every tab's `Last updated
  … ago` ticks every second), less the same net figure with no tab open (the refresh itself), divided by N;
- table KB/tab: median over the tabs of the bytes of socket events that carry table rows (goal: nothing
  when nothing changed);
- all KB/tab: every event a tab got in that window (the once-a-second `Last updated` labels included).
Goals: nothing pushed for a refresh without changes; ≤ 10 ms CPU per tab for one changed device.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from common import cpu_seconds, moto_server, portal  # noqa: E402
from seeding import change_one_device, seed_fleet  # noqa: E402
from socket_tabs import Tabs, refresh  # noqa: E402

from dda_portal.demo.greengrass import GreengrassBackend, GreengrassServer  # noqa: E402

SETTLE_SECONDS = 2.0
IDLE_SECONDS = 5.0


def say(text: str) -> None:
    print(text, flush=True)


def idle_cpu_per_second(pid: int) -> float:
    cpu = cpu_seconds(pid)
    time.sleep(IDLE_SECONDS)
    return (cpu_seconds(pid) - cpu) * 1000 / IDLE_SECONDS


def one_refresh(
    pid: int, controller: Tabs, tabs: Tabs | None, idle_per_s: float, timeout: float = 600
) -> tuple[float, float, float, float]:
    """Seconds press → toast, net portal CPU ms (rest use removed), median table KB and all KB per tab."""
    if tabs is not None:
        tabs.arm()
    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    refresh(controller, timeout)
    took = time.perf_counter() - start
    time.sleep(SETTLE_SECONDS)
    window = time.perf_counter() - start
    net_cpu = (cpu_seconds(pid) - cpu) * 1000 - idle_per_s * window
    if tabs is None:
        return took, net_cpu, 0.0, 0.0
    table_kb = statistics.median(t.table_bytes for t in tabs.tabs) / 1024
    all_kb = statistics.median(t.bytes for t in tabs.tabs) / 1024
    return took, net_cpu, table_kb, all_kb


def run(args: argparse.Namespace, work: Path) -> None:
    backend = GreengrassBackend()
    start = time.perf_counter()
    seed_fleet(backend, args.devices, args.per_device, args.components)
    seeded_s = time.perf_counter() - start
    with moto_server() as endpoint, GreengrassServer('127.0.0.1', 0, backend) as greengrass:
        env = {
            'DDA_GREENGRASS_ENABLED': 'true',
            'AWS_ENDPOINT_URL_GREENGRASSV2': greengrass.endpoint_url,
            'DDA_DEVICE_REFRESH_SECONDS': '0.001',  # every refresh takes the whole inventory
        }
        os.environ.pop('AWS_ENDPOINT_URL_GREENGRASSV2', None)
        with portal(f'sqlite:///{work / "fleet.db"}', endpoint, work, env=env) as (url, pid):
            controller = Tabs(url, '/?q=no-such-training-job', 1)
            try:
                start = time.perf_counter()
                refresh(controller)  # the fleet comes in
                first_s = time.perf_counter() - start
                say(
                    f'\nFleet: {args.devices:,} core devices × {args.per_device} installed components '
                    f'({args.components} components; emulator seeded in {seeded_s:.0f} s; the first refresh, '
                    f'bringing it in, took {first_s:.0f} s)'
                )
                idle0 = idle_cpu_per_second(pid)
                base_none = one_refresh(pid, controller, None, idle0)
                change_one_device(backend, 0)
                base_one = one_refresh(pid, controller, None, idle0)
                step = 1
                say(
                    f'no tab open: refresh {base_none[0]:.1f} s, net portal CPU {base_none[1]:,.0f} ms '
                    f'(one change: {base_one[0]:.1f} s, {base_one[1]:,.0f} ms); at rest '
                    f'{idle0:.0f} ms CPU/s'
                )
                say(
                    f'{"page":>11} | {"tabs":>4} | {"open s":>6} | {"rest CPU ms/s":>13} | '
                    f'{"no change: refresh s":>20} | {"net CPU ms":>10} | {"CPU ms/tab":>10} | '
                    f'{"table KB/tab":>12} | {"all KB/tab":>10} | {"1 change: refresh s":>19} | '
                    f'{"net CPU ms":>10} | {"CPU ms/tab":>10} | {"table KB/tab":>12} | {"all KB/tab":>10}'
                )
                say('-' * 198)
                for path in args.pages:
                    for count in args.tabs:
                        start = time.perf_counter()
                        tabs = Tabs(url, path, count)
                        open_s = time.perf_counter() - start
                        try:
                            time.sleep(3)
                            idle = idle_cpu_per_second(pid)
                            limit = 3 * base_none[0] + 60
                            none = one_refresh(pid, controller, tabs, idle, limit)
                            change_one_device(backend, step)
                            step += 1
                            one = one_refresh(pid, controller, tabs, idle, limit)
                            problems = list(tabs.problems)
                            connected = tabs.connected()
                        except RuntimeError as error:  # the portal dropped the sockets, the button's too
                            say(
                                f'{path:>11} | {count:>4} | {open_s:>6.1f} | no toast within {limit:.0f} s '
                                f'({error}); {tabs.connected()} of {count} tabs still connected; '
                                f'{"; ".join(tabs.problems[:2])}'
                            )
                            controller.close()
                            controller = Tabs(url, '/?q=no-such-training-job', 1)
                            continue
                        finally:
                            tabs.close()
                        none_tab = (none[1] - base_none[1]) / count
                        one_tab = (one[1] - base_one[1]) / count
                        say(
                            f'{path:>11} | {count:>4} | {open_s:>6.1f} | {idle:>13.0f} | '
                            f'{none[0]:>20.1f} | {none[1]:>10,.0f} | {none_tab:>10.0f} | {none[2]:>12,.0f} | '
                            f'{none[3]:>10,.0f} | {one[0]:>19.1f} | {one[1]:>10,.0f} | {one_tab:>10.0f} | '
                            f'{one[2]:>12,.0f} | {one[3]:>10,.0f}'
                        )
                        if connected < count:
                            say(f'    only {connected} of {count} tabs still connected at the end')
                        for problem in problems[:3]:
                            say(f'    {problem}')
                        time.sleep(2)
            finally:
                controller.close()
    say(
        '(CPU ms/tab: net of rest use and of the refresh with no tab; 10 ms ticks. '
        'Goals: nothing pushed without a change; ≤ 10 ms CPU per tab for one change)'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument('--devices', type=int, default=5000)
    parser.add_argument('--per-device', type=int, default=10)
    parser.add_argument('--components', type=int, default=50)
    parser.add_argument('--tabs', type=int, nargs='+', default=[1, 10, 30])
    parser.add_argument('--pages', nargs='+', default=['/devices', '/components'])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(args, Path(folder))


if __name__ == '__main__':
    main()
