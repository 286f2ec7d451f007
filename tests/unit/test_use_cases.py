"""DDA_USE_CASES_FILE: what a good file gives, how a bad one stops the start, and the AWS session of each
place (the home account's, or an assumed role's in another account and region, assumed when first used)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from dda_portal.config import SettingsError, load_settings
from dda_portal.demo import moto_patches
from dda_portal.demo.accounts import create_use_case_role
from dda_portal.use_cases import (
    DEFAULT_USE_CASE,
    UseCase,
    UseCaseFileError,
    default_use_cases,
    load_use_cases,
    places_of,
    session_for,
)

ROOT = Path(__file__).resolve().parents[2]
HOME_ACCOUNT = '123456789012'  # the account moto gives the 'testing' credentials
LINE_2_ACCOUNT = '222222222222'
EXTERNAL_ID = 'dda-line-2-7f3a'

GOOD_FILE = f"""\
# two production lines
[use_cases.line-1]
region = "us-east-1"
sagemaker_role_arn = "arn:aws:iam::{HOME_ACCOUNT}:role/neo"
compile_output_s3 = "s3://line-1-models/neo/"
auto_compile_targets = ["jetson-xavier", "x86_64-cpu"]

[use_cases.line-2]
account_id = "{LINE_2_ACCOUNT}"
regions = ["eu-west-1", "us-west-2"]
role_arn = "arn:aws:iam::{LINE_2_ACCOUNT}:role/dda-portal-reader"
external_id = "{EXTERNAL_ID}"
session_name = "dda-portal-central"
greengrass_enabled = false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / 'use-cases.toml'
    path.write_text(text, encoding='utf-8')
    return path


def test_a_good_file_gives_its_use_cases_with_their_own_settings(tmp_path: Path) -> None:
    line_1, line_2 = load_use_cases(write(tmp_path, GOOD_FILE))

    assert (line_1.name, line_1.account, line_1.regions, line_1.assumes_role) == (
        'line-1',
        None,  # the home credentials' own account
        ('us-east-1',),
        False,
    )
    assert line_1.sagemaker_role_arn == f'arn:aws:iam::{HOME_ACCOUNT}:role/neo'
    assert line_1.compile_output_s3 == 's3://line-1-models/neo/'
    assert line_1.auto_compile_targets == ('jetson-xavier', 'x86_64-cpu')
    assert line_1.greengrass_enabled is None  # the portal's own setting

    assert (line_2.name, line_2.account, line_2.regions) == (
        'line-2',
        LINE_2_ACCOUNT,
        ('eu-west-1', 'us-west-2'),
    )
    assert (line_2.role_arn, line_2.external_id, line_2.session_name) == (
        f'arn:aws:iam::{LINE_2_ACCOUNT}:role/dda-portal-reader',
        EXTERNAL_ID,
        'dda-portal-central',
    )
    assert line_2.greengrass_enabled is False
    assert line_2.sagemaker_role_arn is None


def test_a_one_region_use_case_is_one_place_named_like_it_and_each_region_of_another_is_one() -> None:
    places = places_of(
        [
            UseCase(name='line-1', regions=('us-east-1',)),
            UseCase(
                name='line-2',
                regions=('eu-west-1', 'us-west-2'),
                role_arn=f'arn:aws:iam::{LINE_2_ACCOUNT}:role/r',
            ),
        ]
    )

    assert [(p.key, p.name, p.region, p.label) for p in places] == [
        ('line-1', 'line-1', 'us-east-1', 'line-1'),
        ('line-2/eu-west-1', 'line-2', 'eu-west-1', 'line-2 · eu-west-1'),
        ('line-2/us-west-2', 'line-2', 'us-west-2', 'line-2 · us-west-2'),
    ]


def test_without_the_file_there_is_one_place_the_default_use_case_in_the_default_region() -> None:
    [place] = places_of(default_use_cases())

    assert (place.key, place.region, place.use_case.assumes_role) == (DEFAULT_USE_CASE, None, False)
    assert load_settings({}).use_cases == default_use_cases()


def test_one_region_may_be_written_as_region_and_targets_as_a_comma_list(tmp_path: Path) -> None:
    [use_case] = load_use_cases(
        write(tmp_path, '[use_cases.line-1]\nregion = "eu-west-1"\nauto_compile_targets = "a, b"\n')
    )

    assert (use_case.regions, use_case.auto_compile_targets) == (('eu-west-1',), ('a', 'b'))


ROLE_3 = 'arn:aws:iam::333333333333:role/dda'
BAD_FILES = [
    pytest.param(
        '[use_cases.line-1]\naccount_id = "123456789012"\nregion = eu-west-1\n',
        3,
        'Invalid value (column 10)',
        id='not TOML',
    ),
    pytest.param(
        f'[use_cases.line-1]\nrole_arn = "{ROLE_3}"\nregion = "eu-west-1"\nrole = "operator"\n',
        4,
        "use case 'line-1', role: unknown key (known: account_id, regions, role_arn",
        id='unknown key',
    ),
    pytest.param(
        '[use_cases.line-1]\nregion = "eu-west-1"\naccount_id = 22222\n',
        3,
        'use case \'line-1\', account_id: account_id must be 12 digits, e.g. "123456789012" (quoted)',
        id='account id a number',
    ),
    pytest.param(
        '[use_cases.line-1]\nregion = "eu-west-1"\naccount_id = "2222-2222-2222"\n',
        3,
        'account_id must be 12 digits',
        id='account id with dashes',
    ),
    pytest.param(
        '[use_cases.a]\nregion = "us-east-1"\n\n[use_cases.line-1]\naccount_id = "222222222222"\n'
        'regions = ["eu-west-1", "Europe"]\n',
        6,
        "use case 'line-1', regions: 'Europe' is not an AWS region name like eu-west-1",
        id='bad region',
    ),
    pytest.param(
        '[use_cases.line-1]\nregion = "Ireland"\n',
        2,
        "use case 'line-1', regions: 'Ireland' is not an AWS region name",
        id='bad region written as region',
    ),
    pytest.param(
        f'[use_cases.line-1]\naccount_id = "222222222222"\nregion = "eu-west-1"\nrole_arn = "{ROLE_3}"\n',
        4,
        "use case 'line-1', role_arn: the role is in account 333333333333, not in account_id 222222222222",
        id='role in another account',
    ),
    pytest.param(
        f'[use_cases.line-1]\nregion = "eu-west-1"\nrole_arn = "{ROLE_3}"\nexternal_id = "x"\n',
        4,
        "use case 'line-1', external_id: external_id is 2-1224 characters",
        id='external id too short',
    ),
    pytest.param(
        f'[use_cases.line-1]\nregion = "eu-west-1"\nrole_arn = "{ROLE_3}"\nexternal_id = "a b"\n',
        4,
        'external_id is 2-1224 characters of letters, digits and +=,.@:/-',
        id='external id with a space',
    ),
    pytest.param(
        '[use_cases.line-1]\nregion = "eu-west-1"\nrole_arn = "arn:aws:iam::333:user/x"\n',
        3,
        'role_arn: must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME',
        id='not a role ARN',
    ),
    pytest.param(
        f'[use_cases.line-1]\nrole_arn = "{ROLE_3}"\n',
        1,
        "use case 'line-1', region: a use case reached through role_arn names its region",
        id='role without region',
    ),
    pytest.param(
        '[use_cases.line-1]\nregion = "eu-west-1"\n\n[use_cases.line-2]\nregion = "eu-west-1"\n',
        4,
        "use case 'line-2' reads the home account in eu-west-1 like use case 'line-1'",
        id='the same account and region twice',
    ),
    pytest.param(
        '[use_cases."line 1"]\nregion = "eu-west-1"\n',
        1,
        "use case 'line 1', name: a use case name is 1-63 letters, digits, - or _",
        id='bad name',
    ),
    pytest.param(
        '[use_cases.line-1]\nregion = "eu-west-1"\n\n[users.alice]\nrole = "operator"\n',
        4,
        "unknown table 'users' (only [use_cases.NAME] tables)",
        id='unknown table',
    ),
    pytest.param('[use_cases]\nline-1 = 3\n', 2, 'use_cases.line-1 must be a table', id='not a table'),
    pytest.param(
        '[use_cases.line-1]\nduration_seconds = 60\n',
        2,
        'duration_seconds: Input should be greater than or equal to 900',
        id='too short a session',
    ),
]


@pytest.mark.parametrize(('text', 'line', 'reason'), BAD_FILES)
def test_a_bad_file_is_refused_with_the_file_the_line_and_the_reason(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(UseCaseFileError) as refused:
        load_use_cases(path)

    assert str(refused.value).startswith(f'{path}, line {line}: ')
    assert reason in str(refused.value)


def test_a_file_without_use_cases_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '# nothing yet\n')

    with pytest.raises(UseCaseFileError, match=r'no use case \(add \[use_cases.NAME\] tables\)'):
        load_use_cases(path)


def test_a_bad_file_stops_the_settings_with_the_setting_file_line_and_reason(tmp_path: Path) -> None:
    path = write(tmp_path, '[use_cases.line-1]\nregion = "eu-west-1"\naccount_id = "12"\n')

    with pytest.raises(SettingsError) as stopped:
        load_settings({'use_cases_file': str(path)})

    assert str(stopped.value) == (
        f"Invalid setting DDA_USE_CASES_FILE: {path}, line 3: use case 'line-1', account_id: "
        'account_id must be 12 digits, e.g. "123456789012" (quoted)'
    )


def test_a_missing_file_stops_the_settings() -> None:
    expected = r'^Invalid setting DDA_USE_CASES_FILE: no such file: /nowhere.toml$'
    with pytest.raises(SettingsError, match=expected):
        load_settings({'use_cases_file': '/nowhere.toml'})


def start_with(path: Path) -> subprocess.CompletedProcess[str]:
    """`python main.py` with DDA_USE_CASES_FILE=path and none of the test run's own DDA_ settings."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(('DDA_', 'NICEGUI'))}
    return subprocess.run(
        [sys.executable, str(ROOT / 'main.py')],
        env={**environment, 'DDA_USE_CASES_FILE': str(path), 'PYTHONPATH': str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_portal_does_not_start_with_a_bad_file_and_says_why_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[use_cases.line-1]\nregion = "eu-west-1"\nrole = "operator"\n')

    result = start_with(path)

    assert result.returncode == 1
    assert result.stdout == ''
    assert result.stderr.splitlines() == [
        f"Invalid setting DDA_USE_CASES_FILE: {path}, line 3: use case 'line-1', role: unknown key "
        '(known: account_id, regions, role_arn, external_id, session_name, duration_seconds, '
        'sagemaker_role_arn, compile_output_s3, auto_compile_targets, greengrass_enabled)'
    ]


def test_an_unknown_automatic_target_of_a_use_case_stops_the_start_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[use_cases.line-1]\nregion = "eu-west-1"\n'
        'auto_compile_targets = ["jetson-xavier", "jetson-xaviar"]\n',
    )

    result = start_with(path)

    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"Invalid setting DDA_USE_CASES_FILE: {path}, line 3: use case 'line-1', auto_compile_targets: "
        'unknown target(s) jetson-xaviar; known: jetson-xavier, '
    ), result.stderr


# ---- sessions ----------------------------------------------------------------------------------------


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    """moto in-process (with the demo's patches) and the home account's session, as the portal makes it."""
    for name in ('AWS_ENDPOINT_URL', 'AWS_PROFILE', 'AWS_SESSION_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
    moto_patches.apply()
    with mock_aws():
        yield boto3.session.Session()


def line_2(regions: tuple[str, ...] = ('eu-west-1',), external_id: str | None = EXTERNAL_ID) -> UseCase:
    role_arn = create_use_case_role(LINE_2_ACCOUNT, 'dda-portal-reader', HOME_ACCOUNT, EXTERNAL_ID)
    return UseCase(
        name='line-2',
        account_id=LINE_2_ACCOUNT,
        regions=regions,
        role_arn=role_arn,
        external_id=external_id,
    )


def test_the_home_use_case_in_the_default_region_uses_the_home_session(home: boto3.session.Session) -> None:
    [place] = places_of(default_use_cases())

    assert session_for(place, home) is home


def test_an_assumed_role_reads_its_own_account_and_region_apart_from_the_home_account(
    home: boto3.session.Session,
) -> None:
    [home_place, line_2_place] = places_of([UseCase(name='line-1', regions=('us-east-1',)), line_2()])
    home_s3 = session_for(home_place, home).client('s3')
    home_s3.create_bucket(Bucket='line-1-models')
    line_2_session = session_for(line_2_place, home)
    line_2_s3 = line_2_session.client('s3')
    line_2_s3.create_bucket(
        Bucket='line-2-models', CreateBucketConfiguration={'LocationConstraint': 'eu-west-1'}
    )
    line_2_sagemaker = line_2_session.client('sagemaker')

    identity = line_2_session.client('sts').get_caller_identity()
    assert identity['Account'] == LINE_2_ACCOUNT
    assert identity['Arn'].startswith(f'arn:aws:sts::{LINE_2_ACCOUNT}:assumed-role/dda-portal-reader/')
    assert line_2_session.region_name == 'eu-west-1'
    assert [b['Name'] for b in home_s3.list_buckets()['Buckets']] == ['line-1-models']
    assert [b['Name'] for b in line_2_s3.list_buckets()['Buckets']] == ['line-2-models']
    assert line_2_sagemaker.list_training_jobs()['TrainingJobSummaries'] == []
    assert line_2_sagemaker.meta.region_name == 'eu-west-1'


def test_each_region_of_a_multi_region_use_case_has_its_own_state(home: boto3.session.Session) -> None:
    ireland, oregon = places_of([line_2(regions=('eu-west-1', 'us-west-2'))])
    ireland_logs = session_for(ireland, home).client('logs')
    oregon_logs = session_for(oregon, home).client('logs')

    ireland_logs.create_log_group(logGroupName='/aws/sagemaker/TrainingJobs')

    assert [g['logGroupName'] for g in ireland_logs.describe_log_groups()['logGroups']] == [
        '/aws/sagemaker/TrainingJobs'
    ]
    assert oregon_logs.describe_log_groups()['logGroups'] == []
    assert oregon_logs.meta.region_name == 'us-west-2'


def test_a_second_region_of_the_home_account_uses_the_home_credentials(home: boto3.session.Session) -> None:
    [place] = places_of([UseCase(name='line-1', regions=('eu-west-1',))])

    session = session_for(place, home)

    assert session.region_name == 'eu-west-1'
    assert session.client('sts').get_caller_identity()['Account'] == HOME_ACCOUNT


def test_the_role_is_assumed_at_the_first_aws_call_not_before_and_then_kept(
    home: boto3.session.Session,
) -> None:
    [place] = places_of([line_2()])
    assumed: list[dict[str, object]] = []
    home._session.register(  # the STS client is made from the home session, so its events are ours
        'provide-client-params.sts.AssumeRole', lambda params, **_: assumed.append(dict(params))
    )

    sagemaker = session_for(place, home).client('sagemaker')
    assert assumed == []  # making the session and a client calls nothing

    sagemaker.list_training_jobs()
    sagemaker.list_training_jobs()
    assert len(assumed) == 1
    assert assumed[0]['RoleArn'] == f'arn:aws:iam::{LINE_2_ACCOUNT}:role/dda-portal-reader'
    assert assumed[0]['ExternalId'] == EXTERNAL_ID
    assert assumed[0]['RoleSessionName'] == 'dda-portal'
    assert assumed[0]['DurationSeconds'] == 3600


def test_the_readmes_example_file_is_a_good_file(tmp_path: Path) -> None:
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    example = readme.split('```toml\n# use-cases.toml\n', 1)[1].split('```', 1)[0]

    places = places_of(load_use_cases(write(tmp_path, example)))

    assert [p.key for p in places] == ['line-1', 'line-2/eu-west-1', 'line-2/eu-central-1']
