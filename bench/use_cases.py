"""AWS calls of a quiet (steady-state) refresh with 1, 2 and 4 use-case places (account-region pairs).

Each place is seeded alike (N training jobs, 3 compilation jobs each, straight into moto's backend of its
account and region) and refreshed once (the backfill); the next refresh, with nothing changed, is measured:
its AWS calls in all, per place, and the STS AssumeRole calls it made (none while the assumed credentials
are fresh: botocore refreshes them shortly before they expire). The places:

    line-1   the home account, us-east-1 (without a use-cases file: the default place)
    line-2   account 222222222222, eu-west-1, through AssumeRole with an external id
    line-3   account 333333333333, us-west-2, through AssumeRole with an external id
    line-4   the home account, eu-west-1

    .venv/bin/python bench/use_cases.py [N]      (N training jobs per place, default 100)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.update(AWS_ACCESS_KEY_ID='bench', AWS_SECRET_ACCESS_KEY='bench', AWS_DEFAULT_REGION='us-east-1')
for name in ('AWS_ENDPOINT_URL', 'AWS_PROFILE', 'MOTO_ACCOUNT_ID'):
    os.environ.pop(name, None)

import sqlalchemy  # noqa: E402
from moto import mock_aws  # noqa: E402
from sync_cost import TARGETS, seed  # noqa: E402

from dda_portal.aws.clients import AwsClients  # noqa: E402
from dda_portal.config import Settings  # noqa: E402
from dda_portal.demo import moto_patches  # noqa: E402
from dda_portal.demo.accounts import create_use_case_role  # noqa: E402
from dda_portal.demo.greengrass import GreengrassServer  # noqa: E402
from dda_portal.domain.clock import utcnow  # noqa: E402
from dda_portal.domain.targets import TargetCatalog  # noqa: E402
from dda_portal.services import build  # noqa: E402
from dda_portal.store import Store  # noqa: E402

HOME = '123456789012'
EXTERNAL_ID = 'dda-bench-external-id'
# (use case, account, region, assumed?)
PLACES = (
    ('line-1', HOME, 'us-east-1', False),
    ('line-2', '222222222222', 'eu-west-1', True),
    ('line-3', '333333333333', 'us-west-2', True),
    ('line-4', HOME, 'eu-west-1', False),
)


def use_cases_file(folder: Path, count: int) -> Path | None:
    """The file naming the first `count` places (and their roles, made in moto's IAM); None for one place."""
    if count == 1:
        return None
    lines = []
    for name, account, region, assumed in PLACES[:count]:
        lines += [f'[use_cases.{name}]', f'region = "{region}"']
        if assumed:
            role_arn = create_use_case_role(account, 'dda-portal-reader', HOME, EXTERNAL_ID)
            lines += [f'role_arn = "{role_arn}"', f'external_id = "{EXTERNAL_ID}"']
        lines.append('')
    path = folder / 'use-cases.toml'
    path.write_text('\n'.join(lines), encoding='utf-8')
    return path


def run(places: int, jobs: int) -> tuple[int, list[int], int, dict[str, int]]:
    """(AWS calls of the quiet refresh, its calls per place, its AssumeRole calls, training jobs stored per
    place after the backfill: proof that each place was read)."""
    with tempfile.TemporaryDirectory() as folder, mock_aws(), GreengrassServer() as greengrass:
        os.environ['AWS_ENDPOINT_URL_GREENGRASSV2'] = greengrass.endpoint_url
        for _, account, region, _ in PLACES[:places]:
            seed(jobs, account, region)
        url = f'sqlite:///{Path(folder) / "bench.db"}'
        file = use_cases_file(Path(folder), places)
        settings = Settings(database_url=url, sync_enabled=False, use_cases_file=file)
        home = AwsClients()
        assumed: list[str] = []
        home.session.events.register('before-call.sts.AssumeRole', lambda **_: assumed.append('AssumeRole'))
        store = Store(url)
        services = build(settings, store, home, TargetCatalog.load())
        for place in services.places:  # the backfill (and each role assumed once), in the place's rows
            with store.at(place.key):
                place.sync.pull_and_apply(utcnow())
        assumed.clear()
        with sqlalchemy.create_engine(url).connect() as connection:
            rows = connection.execute(
                sqlalchemy.text('SELECT use_case, count(*) FROM training_job GROUP BY use_case')
            )
            stored = {str(key): int(number) for key, number in rows}
        per_place = []
        for place in services.places:
            before = home.counter.total
            with store.at(place.key):
                place.sync.pull_and_apply(utcnow())
            per_place.append(home.counter.total - before)
        return sum(per_place), per_place, len(assumed), stored


def main() -> None:
    moto_patches.apply()
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    print(f'{jobs} training jobs and {jobs * len(TARGETS)} compilation jobs per place')
    print(
        f'{"places":>6} | {"quiet-refresh calls":>19} | {"per place":>17} | {"AssumeRole calls":>16} | '
        f'{"÷ 1 place":>9} | jobs stored per place'
    )
    print('-' * 120)
    single = 0
    for count in (1, 2, 4):
        total, per_place, assumed, stored = run(count, jobs)
        single = single or total
        each = ', '.join(str(n) for n in per_place)
        kept = ', '.join(f'{key} {number}' for key, number in stored.items())
        print(
            f'{count:>6} | {total:>19} | {each:>17} | {assumed:>16} | {total / single:>9.2f} | {kept}',
            flush=True,
        )


if __name__ == '__main__':
    main()
