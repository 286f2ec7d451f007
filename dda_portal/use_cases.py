"""Use cases: the AWS accounts and regions one portal reads (DDA_USE_CASES_FILE), and the boto3 session that
reaches each of them (the home account's credential chain, or STS AssumeRole with refreshable credentials).

Every AWS object in the store is keyed by its *place*: one account-region pair of one use case. Without the
file there is one use case, `default`, in the default account and region; the portal behaves as it always did.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import boto3
import botocore.session
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator

from .domain import attempts

DEFAULT_USE_CASE = 'default'
NAME_PATTERN = re.compile(r'[A-Za-z0-9][A-Za-z0-9_-]{0,62}')
ACCOUNT_PATTERN = re.compile(r'\d{12}')
REGION_PATTERN = re.compile(r'[a-z]{2}(-[a-z]+)+-\d')
# STS: RoleSessionName is 2-64 characters of [\w+=,.@-]; ExternalId 2-1224 of [\w+=,.@:/-]
SESSION_NAME_PATTERN = re.compile(r'[\w+=,.@-]{2,64}')
EXTERNAL_ID_PATTERN = re.compile(r'[\w+=,.@:/-]{2,1224}')


def _role_arn(value: str) -> str:
    if not attempts.is_role_arn(value):
        raise ValueError('must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME')
    return value


def _s3_uri(value: str) -> str:
    if not attempts.is_s3_uri(value):
        raise ValueError('must be an S3 URI like s3://bucket/prefix/')
    return value


# the checks a setting and a use case share (DDA_SAGEMAKER_ROLE_ARN and a use case's role_arn, …)
RoleArn = Annotated[str, AfterValidator(_role_arn)]
S3Uri = Annotated[str, AfterValidator(_s3_uri)]


class UseCaseFileError(ValueError):
    """DDA_USE_CASES_FILE cannot be used: says the file, the line when known, and why."""


class UseCase(BaseModel):
    """One production line or customer: an AWS account, its region(s), and how the portal reaches it."""

    model_config = {'extra': 'forbid', 'frozen': True}

    name: str
    account_id: str | None = None  # None: whatever account the home credentials belong to
    regions: tuple[str, ...] = ()  # empty: the default region (only without role_arn)
    role_arn: RoleArn | None = None  # None: the default credential chain (the home account)
    external_id: str | None = None
    session_name: str = 'dda-portal'
    duration_seconds: int = Field(3600, ge=900, le=43200)
    # optional per-use-case settings; None: the portal's own (DDA_…) setting
    sagemaker_role_arn: RoleArn | None = None
    compile_output_s3: S3Uri | None = None
    auto_compile_targets: tuple[str, ...] | None = None
    greengrass_enabled: bool | None = None

    @field_validator('name')
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                'a use case name is 1-63 letters, digits, - or _, starting with a letter or digit'
            )
        return value

    @field_validator('account_id', mode='before')
    @classmethod
    def _account(cls, value: object) -> object:
        if value is not None and not (isinstance(value, str) and ACCOUNT_PATTERN.fullmatch(value)):
            raise ValueError('account_id must be 12 digits, e.g. "123456789012" (quoted)')
        return value

    @field_validator('regions')
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for region in value:
            if not REGION_PATTERN.fullmatch(region):
                raise ValueError(f'{region!r} is not an AWS region name like eu-west-1')
        if len(set(value)) != len(value):
            raise ValueError('a region is listed twice')
        return value

    @field_validator('external_id')
    @classmethod
    def _external_id(cls, value: str | None) -> str | None:
        if value is not None and not EXTERNAL_ID_PATTERN.fullmatch(value):
            raise ValueError('external_id is 2-1224 characters of letters, digits and +=,.@:/-')
        return value

    @field_validator('session_name')
    @classmethod
    def _session_name(cls, value: str) -> str:
        if not SESSION_NAME_PATTERN.fullmatch(value):
            raise ValueError('session_name is 2-64 characters of letters, digits and +=,.@-')
        return value

    @property
    def assumes_role(self) -> bool:
        return self.role_arn is not None

    @property
    def account(self) -> str | None:
        """The account the use case reads: account_id, else the role's; None: the home credentials' own."""
        if self.account_id:
            return self.account_id
        return self.role_arn.split(':')[4] if self.role_arn else None


@dataclass(frozen=True)
class Place:
    """One account-region pair of a use case: what one refresh part reads, and what every stored AWS object
    is keyed by (`key`)."""

    key: str  # the use case's name when it has one region, else "name/region"
    use_case: UseCase
    region: str | None  # None: the default region of the home credential chain

    @property
    def name(self) -> str:
        return self.use_case.name

    @property
    def label(self) -> str:
        """What people read: the use case, with the region when the use case has several."""
        return self.key.replace('/', ' · ')


def default_use_cases() -> list[UseCase]:
    """Without DDA_USE_CASES_FILE: one use case in the home account and the default region."""
    return [UseCase(name=DEFAULT_USE_CASE)]


def _read_at_start(path: Path) -> Path:
    """DDA_USE_CASES_FILE is read when the settings are: a bad file stops the start with its line and reason
    (a missing one is the setting's own error)."""
    if path.is_file():
        load_use_cases(path)
    return path


UseCasesFile = Annotated[Path, AfterValidator(_read_at_start)]


def use_cases_from(path: Path | None) -> list[UseCase]:
    """The use cases the portal reads: DDA_USE_CASES_FILE's, else one in the home account and region."""
    return load_use_cases(path) if path else default_use_cases()


def places_of(use_cases: list[UseCase]) -> list[Place]:
    found: list[Place] = []
    for use_case in use_cases:
        if len(use_case.regions) <= 1:
            region = use_case.regions[0] if use_case.regions else None
            found.append(Place(use_case.name, use_case, region))
        else:
            found.extend(Place(f'{use_case.name}/{r}', use_case, r) for r in use_case.regions)
    return found


def load_use_cases(path: Path) -> list[UseCase]:
    """Read `[use_cases.NAME]` tables; raises UseCaseFileError with the file, the line and the reason."""
    try:
        text = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else None
        raise UseCaseFileError(f'{path}: cannot be read ({reason or error})') from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UseCaseFileError(f'{path}{_toml_error(str(error))}') from None
    tables = document.get('use_cases')
    unknown = sorted(set(document) - {'use_cases'})
    if unknown:
        raise UseCaseFileError(
            f'{path}, line {_table_line(text, unknown[0])}: unknown table {unknown[0]!r} '
            '(only [use_cases.NAME] tables)'
        )
    if not isinstance(tables, dict) or not tables:
        raise UseCaseFileError(f'{path}: no use case (add [use_cases.NAME] tables)')
    use_cases = [_use_case(path, text, name, table) for name, table in tables.items()]
    _check_accounts(path, text, use_cases)
    return use_cases


def check_targets(path: Path | None, use_cases: list[UseCase], known: Collection[str]) -> None:
    """Each use case's auto_compile_targets are targets of the catalogue (DDA_TARGETS_FILE, read after this
    file); raises UseCaseFileError with the line otherwise, as DDA_AUTO_COMPILE_TARGETS stops the start."""
    for use_case in use_cases if path else []:
        unknown = [t for t in use_case.auto_compile_targets or () if t not in known]
        if unknown and path:
            text = path.read_text(encoding='utf-8')
            line = _line_of(
                text, 'auto_compile_targets', after=_table_line(text, f'use_cases.{use_case.name}')
            )
            raise UseCaseFileError(
                f'{path}, line {line}: use case {use_case.name!r}, auto_compile_targets: unknown target(s) '
                f'{", ".join(unknown)}; known: {", ".join(known)}'
            )


def _toml_error(message: str) -> str:
    """tomllib's "Reason (at line N, column M)" as ", line N: Reason (column M)"."""
    found = re.fullmatch(r'(.*) \(at line (\d+), column (\d+)\)', message)
    if not found:
        return f': {message}'
    return f', line {found[2]}: {found[1]} (column {found[3]})'


def _check_accounts(path: Path, text: str, use_cases: list[UseCase]) -> None:
    """The role is in the use case's account; no two use cases read the same account and region."""
    seen: dict[tuple[str | None, str | None], str] = {}
    for use_case in use_cases:
        header = _table_line(text, f'use_cases.{use_case.name}')
        role_account = use_case.role_arn.split(':')[4] if use_case.role_arn else None
        if use_case.account_id and role_account and role_account != use_case.account_id:
            raise UseCaseFileError(
                f'{path}, line {_line_of(text, "role_arn", after=header)}: use case {use_case.name!r}, '
                f'role_arn: the role is in account {role_account}, not in account_id {use_case.account_id}'
            )
        if use_case.role_arn and not use_case.regions:
            raise UseCaseFileError(
                f'{path}, line {header}: use case {use_case.name!r}, region: a use case reached through '
                'role_arn names its region (region = "eu-west-1") or regions'
            )
        for region in use_case.regions or (None,):
            other = seen.setdefault((use_case.account, region), use_case.name)
            if other != use_case.name:
                where = f'account {use_case.account}' if use_case.account else 'the home account'
                raise UseCaseFileError(
                    f'{path}, line {header}: use case {use_case.name!r} reads {where} in '
                    f'{region or "the default region"} like use case {other!r}'
                )


def _use_case(path: Path, text: str, name: str, table: Any) -> UseCase:
    line = _table_line(text, f'use_cases.{name}')
    if not isinstance(table, dict):
        raise UseCaseFileError(f'{path}, line {line}: use_cases.{name} must be a table')
    values = dict(table)
    for key in ('regions', 'auto_compile_targets'):  # one string, or a comma-separated list of them
        if isinstance(values.get(key), str):
            values[key] = [part.strip() for part in values[key].split(',') if part.strip()]
    if 'region' in values:  # one region, as people often write it
        values['regions'] = [values.pop('region'), *values.get('regions', [])]
    try:
        return UseCase(name=name, **values)
    except ValidationError as error:
        first = error.errors()[0]
        field = '.'.join(str(part) for part in first['loc'] if not isinstance(part, int)) or name
        where = _line_of(text, field, after=line) if field != 'name' else line
        reason = str(first['msg']).removeprefix('Value error, ')
        if first['type'] == 'extra_forbidden':
            reason = f'unknown key (known: {", ".join(k for k in UseCase.model_fields if k != "name")})'
        raise UseCaseFileError(f'{path}, line {where}: use case {name!r}, {field}: {reason}') from None


def _table_line(text: str, dotted: str) -> int:
    """For messages: the line of a table (`use_cases.NAME`, or a top-level name); 1 when not found."""
    *tables, name = dotted.split('.')
    prefix = ''.join(rf'{re.escape(t)}\s*\.\s*' for t in tables)
    quoted = rf'["\']?{re.escape(name)}["\']?'
    pattern = re.compile(rf'\s*\[+\s*{prefix}{quoted}\s*[].]|\s*{quoted}\s*[.=]')
    return next((n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)), 1)


def _line_of(text: str, key: str, after: int) -> int:
    """For messages: the line of `key` in the table starting at line `after`; `after` when not found."""
    names = ('region', 'regions') if key in ('region', 'regions') else (key,)
    pattern = re.compile(rf'\s*["\']?({"|".join(map(re.escape, names))})["\']?\s*=')
    for number, line in enumerate(text.splitlines()[after - 1 :], after):
        if number > after and line.lstrip().startswith('['):
            break
        if pattern.match(line):
            return number
    return after


class _RaisedToTheCaller(logging.Filter):
    """botocore logs a failed mandatory refresh of assumed-role credentials with its whole traceback, then
    raises the same error to the AWS call, which the portal reports as that place's failure in one line: a
    denied use case would otherwise add some 25 lines to the log at every refresh."""

    def filter(self, record: logging.LogRecord) -> bool:
        return (
            record.getMessage() != 'Refreshing temporary credentials failed during mandatory refresh period.'
        )


logging.getLogger('botocore.credentials').addFilter(_RaisedToTheCaller())


def session_for(place: Place, home: boto3.session.Session) -> boto3.session.Session:
    """A boto3 session for `place`: the home session itself, or one whose credentials come from STS
    AssumeRole (with the use case's external id) through the home session, refreshed by botocore before they
    expire. Nothing is called here: the first AWS call assumes the role, and its failure is that call's."""
    use_case = place.use_case
    region = place.region or home.region_name
    if not use_case.assumes_role:
        if place.region is None or place.region == home.region_name:
            return home
        return boto3.session.Session(botocore_session=_copy_of(home), region_name=region)
    extra: dict[str, Any] = {
        'RoleSessionName': use_case.session_name,
        'DurationSeconds': use_case.duration_seconds,
    }
    if use_case.external_id:
        extra['ExternalId'] = use_case.external_id

    def sts_client(service: str, **kwargs: Any) -> Any:
        # STS through the home credential chain and endpoints; in the home region, or the place's when the
        # home session has none (a central portal may name every region in the file only)
        return home._session.create_client(service, region_name=home.region_name or region, **kwargs)

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client,
        source_credentials=home.get_credentials(),
        role_arn=use_case.role_arn or '',
        extra_args=extra,
    )
    credentials = DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method='assume-role'
    )
    session = botocore.session.Session()
    session._credentials = (
        credentials  # the documented way botocore's own assume-role provider hands them over
    )
    return boto3.session.Session(botocore_session=session, region_name=region)


def _copy_of(home: boto3.session.Session) -> botocore.session.Session:
    """A botocore session with the home session's credentials (for a second region of the home account)."""
    session = botocore.session.Session()
    session._credentials = home.get_credentials()
    return session
