"""How far each page of the demo overflows the window horizontally, at three window sizes, in real Chromium.

    .venv/bin/python bench/layouts.py [--out bench/results/layouts.txt]

Starts `main.py --demo` on a free 127.0.0.1 port, opens every page (the list, each tab of every demo training
job, /components, /devices, each device, /fleet, /alerts, /login) in headless Chromium, and at 1280×800,
1920×1080 and 1024×768 prints for each page the document's overflow (`scrollWidth - innerWidth`, px) and the
widest overflow of a table's own scrolling container (`.q-table__middle`: `scrollWidth - clientWidth`).
Goal: 0 and 0 everywhere. Per size, the worst page and its offending element.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))

from common import CHROMIUM_FLAGS, free_port  # noqa: E402

SIZES = ((1280, 800), (1920, 1080), (1024, 768))
TABS = ('overview', 'logs', 'compilation', 'components')

# the document's overflow, each table's own, and the element reaching farthest right (what makes it overflow)
MEASURE = """() => {
  const doc = document.documentElement.scrollWidth - window.innerWidth;
  let table = 0, tableWhere = '';
  for (const m of document.querySelectorAll('.q-table__middle')) {
    const over = m.scrollWidth - m.clientWidth;
    if (over > table) {
      table = over;
      const owner = m.closest('[data-testid]');
      tableWhere = owner ? owner.dataset.testid : 'a table';
    }
  }
  let widest = null, right = window.innerWidth;
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > right + 1) { right = r.right; widest = e; }
  }
  const classes = widest && typeof widest.className === 'string' ? widest.className.trim().split(/\\s+/) : [];
  const name = widest ? widest.tagName.toLowerCase()
    + (classes.length ? '.' + classes.slice(0, 3).join('.') : '')
    + ' "' + (widest.textContent || '').trim().slice(0, 40) + '"' : '';
  return {doc, table, tableWhere, widest: name};
}"""


HREFS = 'links => links.map(a => a.getAttribute("href"))'


def pages(page: Page, url: str) -> list[str]:
    """Every page to measure: the fixed ones, each job's tabs and each device, found on the list pages."""
    page.goto(url)
    page.locator('tbody tr').first.wait_for()
    jobs = page.locator('tbody a[href^="/training-jobs/"]').evaluate_all(HREFS)
    page.goto(f'{url}/devices')
    page.locator('tbody tr').first.wait_for()
    devices = page.locator('tbody a[href^="/devices/"]').evaluate_all(HREFS)
    found = ['/', '/components', '/devices', '/fleet', '/alerts', '/login']
    found += [f'{job.split("?")[0]}?tab={tab}' for job in dict.fromkeys(jobs) for tab in TABS]
    found += list(dict.fromkeys(devices))
    return found


def settle(page: Page) -> None:
    page.wait_for_load_state('networkidle')
    page.wait_for_timeout(300)  # tables fill after the socket connects


def measure(url: str, out: Path | None, only: str = '', shots: Path | None = None) -> None:
    lines: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which('chromium'), headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={'width': SIZES[0][0], 'height': SIZES[0][1]})
        targets = [t for t in pages(page, url) if only in t]
        worst: dict[tuple[int, int], tuple[int, str, str]] = {size: (0, '', '') for size in SIZES}
        lines.append(f'{"page":<70} ' + ' '.join(f'{w}x{h} doc/table'.rjust(22) for w, h in SIZES))
        for target in targets:
            page.set_viewport_size({'width': SIZES[0][0], 'height': SIZES[0][1]})
            page.goto(url + target)
            settle(page)
            cells = []
            for width, height in SIZES:
                page.set_viewport_size({'width': width, 'height': height})
                page.wait_for_timeout(200)
                found = page.evaluate(MEASURE)
                if shots:
                    name = target.strip('/').replace('/', '_').replace('?', '_') or 'list'
                    page.screenshot(path=shots / f'{name}-{width}x{height}.png', full_page=True)
                cells.append(f'{found["doc"]:>6} / {found["table"]:>4}'.rjust(22))
                over = max(found['doc'], found['table'])
                if over > worst[(width, height)][0]:
                    worst[(width, height)] = (over, target, found['widest'] or found['tableWhere'])
            line = f'{target[:70]:<70} ' + ' '.join(cells)
            print(line, flush=True)
            lines.append(line)
        browser.close()
    for (width, height), (over, target, where) in worst.items():
        line = f'{width}x{height}: worst {over} px on {target or "-"} {where}'
        print(line)
        lines.append(line)
    if out:
        out.write_text('\n'.join(lines) + '\n')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', type=Path)
    parser.add_argument('--shots', type=Path, help='a full-page screenshot of each page and size here')
    parser.add_argument('--only', default='', help='only the pages whose path has this in it')
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, 'DDA_DATABASE_URL': f'sqlite:///{work}/portal.db', 'PYTHONUNBUFFERED': '1'}
        for name in ('AWS_ENDPOINT_URL', 'AWS_PROFILE'):
            env.pop(name, None)
        log = open(Path(work) / 'portal.log', 'w')  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, 'main.py', '--demo', '--port', str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        url = f'http://127.0.0.1:{port}'
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f'{url}/readyz', timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            measure(url, args.out, args.only, args.shots)
        finally:
            process.terminate()
            process.wait(timeout=15)
            log.close()


if __name__ == '__main__':
    main()
