"""AWS that never answers: sign-in and the list page before and during 8 open Logs tabs, in headless Chromium.

    .venv/bin/python bench/aws_unavailable.py [--tabs 8] [--jobs 20] [--cap 300]

Setup. moto's server in this process serves SageMaker (`--jobs` completed training jobs, so the list has rows;
the portal's refresh reads them at start). CloudWatch Logs and S3 point at a TCP port on 127.0.0.1 that
accepts connections and never answers (`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`, `AWS_ENDPOINT_URL_S3`: a
listening socket nobody `accept()`s, so the kernel completes the handshake and every request waits). `main.py`
runs as a subprocess with a users list (`DDA_USERS`, argon2 hash) and `DDA_STORAGE_SECRET`, so people sign in
with the password form. Debian's Chromium (headless, Playwright) drives it.

Measures, each once before the Logs tabs open and once while they are open (2 s after they were opened, so
that their reads of CloudWatch Logs are under way):
- sign-in: from the click on `Sign in` on `/login` until the signed-in page shows `alice · Data Scientist`
  (the password check, the redirect, the list page);
- list page: from `goto('/')` in a signed-in browser until the first training job's row is shown.
Then, for the `--tabs` Logs tabs (`/training-jobs/<job>?tab=logs`): how long after being opened each showed
why there are no logs (`Could not read the logs — …`), and the codes shown. Every wait is capped at `--cap`
seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402

from bench.common import CHROMIUM_FLAGS, moto_server, portal  # noqa: E402

PASSWORD = 'alice-secret-1'
SIGNED_IN = 'alice · Data Scientist'


def seed(endpoint: str, jobs: int) -> list[str]:
    import boto3

    sagemaker = boto3.client('sagemaker', region_name='us-east-1', endpoint_url=endpoint)
    names = [f'bench-job-{n:02d}' for n in range(jobs)]
    for name in names:
        sagemaker.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={'TrainingImage': 'dda/train:1', 'TrainingInputMode': 'File'},
            RoleArn='arn:aws:iam::123456789012:role/dda-bench',
            OutputDataConfig={'S3OutputPath': 's3://dda-models/out'},
            ResourceConfig={'InstanceType': 'ml.g4dn.xlarge', 'InstanceCount': 1, 'VolumeSizeInGB': 30},
            StoppingCondition={'MaxRuntimeInSeconds': 7200},
        )
    return names


def sign_in(browser: Browser, url: str, cap_ms: float) -> tuple[BrowserContext, float]:
    """A fresh browser signs in through the form; the context (signed in) and ms from click to page."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f'{url}/login')
    page.get_by_label('User name').fill('alice')
    page.get_by_label('Password', exact=True).fill(PASSWORD)
    started = time.perf_counter()
    page.get_by_role('button', name='Sign in').click()
    page.get_by_text(SIGNED_IN).wait_for(timeout=cap_ms)
    return context, (time.perf_counter() - started) * 1000


def list_load(context: BrowserContext, url: str, first_job: str, cap_ms: float) -> float:
    page = context.new_page()
    started = time.perf_counter()
    page.goto(f'{url}/', timeout=cap_ms)
    page.get_by_text(first_job, exact=True).first.wait_for(timeout=cap_ms)
    elapsed = (time.perf_counter() - started) * 1000
    page.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--tabs', type=int, default=8)
    parser.add_argument('--jobs', type=int, default=20)
    parser.add_argument('--cap', type=float, default=300, help='seconds any one wait may take')
    args = parser.parse_args()
    cap_ms = args.cap * 1000
    executable = shutil.which('chromium')
    if executable is None:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    users = {'alice': {'role': 'data-scientist', 'password_hash': PasswordHasher().hash(PASSWORD)}}
    with (
        tempfile.TemporaryDirectory() as work,
        moto_server() as endpoint,
        socket.create_server(('127.0.0.1', 0), backlog=256) as silent,  # accepted by the kernel, never read
    ):
        silent_url = f'http://127.0.0.1:{silent.getsockname()[1]}'
        names = seed(endpoint, args.jobs)
        env = {
            'DDA_SYNC_ENABLED': 'true',
            'DDA_USERS': json.dumps(users),
            'DDA_STORAGE_SECRET': 'a-bench-secret-of-32-characters!',
            'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS': silent_url,  # botocore's name for CloudWatch Logs
            'AWS_ENDPOINT_URL_S3': silent_url,
        }
        database = f'sqlite:///{Path(work) / "portal.db"}'
        with portal(database, endpoint, Path(work), env) as (url, _pid), sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_FLAGS
            )
            first_job = names[-1]  # newest first
            context, _ = sign_in(browser, url, cap_ms)  # the browser whose tabs open the logs
            list_load(context, url, first_job, cap_ms)  # warm-up: the first refresh has landed
            list_before = list_load(context, url, first_job, cap_ms)
            sign_in(browser, url, cap_ms)[0].close()  # warm-up of a second browser
            _, sign_in_before = sign_in(browser, url, cap_ms)

            tabs: list[tuple[Page, float]] = []
            for n in range(args.tabs):
                page = context.new_page()
                page.goto(f'{url}/training-jobs/{names[n % len(names)]}?tab=logs')
                tabs.append((page, time.perf_counter()))
            time.sleep(2)  # their reads of CloudWatch Logs are under way
            _, sign_in_during = sign_in(browser, url, cap_ms)
            list_during = list_load(context, url, first_job, cap_ms)

            answered: dict[int, float] = {}
            codes: dict[str, int] = {}
            deadline = time.perf_counter() + args.cap
            while len(answered) < len(tabs) and time.perf_counter() < deadline:
                for n, (page, opened) in enumerate(tabs):
                    if n in answered:
                        continue
                    message = page.get_by_text('Could not read the logs')
                    if message.count():
                        answered[n] = time.perf_counter() - opened
                        code = message.first.inner_text().split('— ', 1)[-1].split(':', 1)[0]
                        codes[code] = codes.get(code, 0) + 1
                time.sleep(0.25)
            browser.close()

    print(f'AWS (CloudWatch Logs, S3) accepts connections and never answers; {args.tabs} Logs tabs open')
    print()
    print(f'| {"measure":<52} | {"before the tabs":>15} | {"during the tabs":>15} |')
    print(f'|{"-" * 54}|{"-" * 17}|{"-" * 17}|')
    sign_in_row = 'sign-in: click → signed-in list shown (ms)'
    print(f'| {sign_in_row:<52} | {sign_in_before:>15.0f} | {sign_in_during:>15.0f} |')
    print(
        f'| {"list page /: goto → first row shown (ms)":<52} | {list_before:>15.0f} | {list_during:>15.0f} |'
    )
    print()
    if answered:
        waits = sorted(answered.values())
        print(
            f'Logs tabs that said why there are no logs: {len(answered)}/{len(tabs)}, after '
            f'{waits[0]:.1f} s (first), {statistics.median(waits):.1f} s (median), {waits[-1]:.1f} s (last); '
            f'codes: {", ".join(f"{code} ×{count}" for code, count in sorted(codes.items()))}'
        )
    else:
        print(f'Logs tabs that said why there are no logs: 0/{len(tabs)} within {args.cap:.0f} s')


if __name__ == '__main__':
    main()
