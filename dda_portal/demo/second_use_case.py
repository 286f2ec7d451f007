"""The demo's second use case: production line 2 in another AWS account and region, reached from the home
account through STS AssumeRole with an external id, as the portal reaches a real use-case account.

The home account (moto's default, the demo's region) is use case `line-1`; account 222222222222 in eu-west-1
is `line-2`. Its role and trust policy are created in that account's IAM, and it gets its own training jobs
(two named like line-1's), compilations, S3 bucket, logs, model components and core devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..domain.targets import TargetCatalog
from .accounts import client_in, create_use_case_role
from .common import ACCOUNT_ID, DemoPlace, at_place, client
from .greengrass import (
    FleetInventory,
    GreengrassAccounts,
    GreengrassBackend,
    packages_from_moto,
    s3_artifact_exists,
    seed_fleet,
    seed_things,
)
from .greengrass.fleet import LINE_2_FLEET, LINE_2_THING_ATTRIBUTES
from .seed import LINE_2_PLAN, DemoInventory, seed

HOME_USE_CASE = 'line-1'
SECOND_USE_CASE = 'line-2'
SECOND_ACCOUNT = '222222222222'
SECOND_REGION = 'eu-west-1'
READER_ROLE = 'dda-portal-reader'  # what the portal assumes in the use-case account
EXTERNAL_ID = 'dda-demo-line-2-3c9e'
LINE_2 = DemoPlace(
    account_id=SECOND_ACCOUNT,
    region=SECOND_REGION,
    bucket='dda-demo-line-2-models',  # S3 bucket names are global: each account has its own
    role_arn=f'arn:aws:iam::{SECOND_ACCOUNT}:role/dda-demo-sagemaker-execution',
)
# a person who is a Data Scientist in line-1 and an Operator in line-2, and one who only watches (password
# "demo" for both): DDA_USERS_FILE=dda_portal/demo/demo-users.toml
DEMO_USERS_FILE = Path(__file__).with_name('demo-users.toml')


@dataclass
class SecondUseCase:
    """What the demo seeded in the second use case's account and region."""

    inventory: DemoInventory
    fleet: FleetInventory
    role_arn: str  # the role the portal assumes there


def seed_second_use_case(
    now: datetime, catalog: TargetCatalog, greengrass: GreengrassAccounts
) -> SecondUseCase:
    """The use-case role (trusting the home account with the external id) and line 2's AWS objects."""
    role_arn = create_use_case_role(SECOND_ACCOUNT, READER_ROLE, ACCOUNT_ID, EXTERNAL_ID)
    with at_place(LINE_2):
        inventory = seed(now, LINE_2_PLAN)
        backend = greengrass.backend(SECOND_ACCOUNT, SECOND_REGION)
        packages = packages_from_moto(inventory, catalog)
        fleet = seed_fleet(backend, inventory.seeded_at, packages, LINE_2_FLEET)
        seed_things(client('iot'), LINE_2_THING_ATTRIBUTES)
    return SecondUseCase(inventory, fleet, role_arn)


def greengrass_backend(account_id: str, region: str) -> GreengrassBackend:
    """A Greengrass account-region of the demo: its artifacts are checked in that account's S3."""
    s3 = client_in('s3', account_id, region)
    return GreengrassBackend(region=region, account_id=account_id, artifact_exists=s3_artifact_exists(s3))


def use_cases_file_text(home_region: str) -> str:
    """DDA_USE_CASES_FILE for the demo: line-1 in the home account, line-2 through AssumeRole."""
    return '\n'.join(
        [
            '# the demo\'s use cases (see the README, "Several accounts and regions")',
            f'[use_cases.{HOME_USE_CASE}]',
            f'region = "{home_region}"',
            '',
            f'[use_cases.{SECOND_USE_CASE}]',
            f'account_id = "{SECOND_ACCOUNT}"',
            f'region = "{SECOND_REGION}"',
            f'role_arn = "arn:aws:iam::{SECOND_ACCOUNT}:role/{READER_ROLE}"',
            f'external_id = "{EXTERNAL_ID}"',
            'session_name = "dda-portal-demo"',
            f'sagemaker_role_arn = "{LINE_2.role_arn}"',
            f'compile_output_s3 = "s3://{LINE_2.bucket}/neo-output/"',
            'auto_compile_targets = []  # the simulator moves line-1 only',
            '',
        ]
    )


def write_use_cases_file(folder: Path, home_region: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / 'demo-use-cases.toml'
    path.write_text(use_cases_file_text(home_region), encoding='utf-8')
    return path
