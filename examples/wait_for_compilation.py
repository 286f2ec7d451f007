"""Wait until a training job is compiled for every target: a pipeline step, Python's standard library only.

    DDA_PORTAL_URL=https://portal.example.com DDA_API_TOKEN=dda_... \\
        python wait_for_compilation.py TRAINING_JOB [TARGET ...]

Exit 0 once every target (those named, else each the job has an attempt for) is Completed, 1 as soon as one
Failed or Stopped, 2 when the portal refuses (token, unknown job), 3 after WAIT_TIMEOUT_SECONDS (1 h).
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def targets_of(url: str, token: str, job: str) -> dict:
    request = urllib.request.Request(
        f'{url}/api/v1/training-jobs/{urllib.parse.quote(job, safe="")}',
        headers={'Authorization': f'Bearer {token}'},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return {target['target_id']: target for target in json.load(answer)['targets']}


def main(job: str, wanted: list[str]) -> int:
    url = os.environ.get('DDA_PORTAL_URL', 'http://127.0.0.1:8080').rstrip('/')
    token = os.environ['DDA_API_TOKEN']
    deadline = time.monotonic() + float(os.environ.get('WAIT_TIMEOUT_SECONDS', '3600'))
    wait = float(os.environ.get('WAIT_FIRST_SECONDS', '5'))
    while True:
        try:
            states = targets_of(url, token, job)
        except urllib.error.HTTPError as error:
            if error.code in (401, 403, 404):
                print(f'refused: {error.code} {error.read().decode()}', file=sys.stderr)
                return 2
            states = None  # the portal is busy or restarting: ask again later
        except OSError as error:
            print(f'portal unreachable ({error}); trying again', file=sys.stderr)
            states = None
        if states is not None:
            targets = wanted or sorted(states)
            status = {t: states[t]['status'] if t in states else 'not started' for t in targets}
            failed = [t for t in targets if status[t] in ('Failed', 'Stopped')]
            if failed:
                for target in failed:
                    print(f'{target}: {status[target]}: {states[target]["failure_reason"]}', file=sys.stderr)
                return 1
            if targets and all(s == 'Completed' for s in status.values()):
                print(f'{job} is compiled for {", ".join(targets)}')
                return 0
            print(f'waiting: {status}', flush=True)
        if time.monotonic() + wait > deadline:
            print('timed out', file=sys.stderr)
            return 3
        time.sleep(wait)
        wait = min(wait * 1.5, 60.0)  # back off: a compilation takes minutes


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
