"""STS AssumeRole as AWS decides it: the role must exist in its account and trust the caller.

moto 5.2.5 hands out credentials for any RoleArn, even a role no account has, and ignores the role's trust
policy, so a wrong role or external id would look fine in the demo and the tests. With this patch AssumeRole
answers AccessDenied (HTTP 403, "User: … is not authorized to perform: sts:AssumeRole on resource: …") unless
the role exists in the account of its ARN and an Allow statement of its trust policy names the caller (its
account, the account's root, the caller's ARN or `*`) for sts:AssumeRole and, when the statement has a
`StringEquals` condition on `sts:ExternalId`, the request's ExternalId is one of its values. Other conditions
are not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import AccessDeniedError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

ORIGINAL_ASSUME_ROLE: Callable[..., Any] = TokenResponse.assume_role


def assume_role_ignores_the_role(assume_role: Callable[..., Any] | None = None) -> bool:
    """Whether `assume_role` (moto's handler by default) hands out credentials for a role no account has."""
    reached: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> Any:
        reached.append(kwargs)
        return SimpleNamespace(user_id='probe', arn='arn:aws:sts::000000000000:assumed-role/probe/probe')

    params = {'RoleArn': 'arn:aws:iam::000000000000:role/dda-portal-probe-missing', 'RoleSessionName': 'p'}
    probe = SimpleNamespace(
        _get_param=lambda name, if_none=None: params.get(name, if_none),
        _get_int_param=lambda name, if_none=None: if_none,
        get_access_key=lambda: 'AKIAPROBE',
        region='us-east-1',
        partition='aws',
        current_account=DEFAULT_ACCOUNT_ID,
        backend=SimpleNamespace(assume_role=record),
    )
    try:
        (assume_role or ORIGINAL_ASSUME_ROLE)(probe)
    except Exception:  # a refusal, or a handler this probe cannot imitate: leave moto alone
        return False
    return bool(reached)


def assume_role(self: TokenResponse) -> Any:
    """moto's AssumeRole handler, after AWS's check of the role and its trust policy."""
    role_arn = self._get_param('RoleArn') or ''
    caller_arn, principals = _caller(self)
    if not trusts(role_arn, principals, self._get_param('ExternalId')):
        raise AccessDeniedError(caller_arn, f'sts:AssumeRole on resource: {role_arn}')
    return ORIGINAL_ASSUME_ROLE(self)


def trusts(role_arn: str, principals: set[str], external_id: str | None) -> bool:
    """Whether the role exists in the account of its ARN and its trust policy lets one of `principals`
    assume it with `external_id`."""
    parts = role_arn.split(':')
    if len(parts) != 6 or parts[2] != 'iam' or not parts[5].startswith('role/'):
        return False
    try:
        role = iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)
        policy = json.loads(unquote(role.assume_role_policy_document))
    except Exception:  # no such role, or a trust policy that is not JSON: AWS refuses both
        return False
    statements = policy.get('Statement', [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if (
            statement.get('Effect') == 'Allow'
            and _listed(statement.get('Action'), {'sts:AssumeRole', 'sts:*', '*'})
            and _names_a_principal(statement.get('Principal'), principals)
            and _external_id_matches(statement.get('Condition') or {}, external_id)
        ):
            return True
    return False


def _caller(response: TokenResponse) -> tuple[str, set[str]]:
    """The caller's ARN (as AWS names it in AccessDenied) and the principals a trust policy may name it by."""
    backend = sts_backends[response.current_account][response.partition]
    access_key = response.get_access_key()
    _, arn, account = backend.get_caller_identity(access_key, response.region)
    principals = {arn, account, f'arn:{response.partition}:iam::{account}:root'}
    assumed = backend.get_assumed_role_from_access_key(access_key)
    if assumed is not None:
        principals.add(assumed.role_arn)
    return arn, principals


def _listed(value: Any, wanted: set[str]) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and v in wanted for v in values)


def _names_a_principal(principal: Any, principals: set[str]) -> bool:
    if principal == '*':
        return True
    if not isinstance(principal, dict):
        return False
    return _listed(principal.get('AWS'), {*principals, '*'})


def _external_id_matches(condition: dict[str, Any], external_id: str | None) -> bool:
    expected = (condition.get('StringEquals') or {}).get('sts:ExternalId')
    if expected is None:
        return True
    return external_id is not None and _listed(expected, {external_id})


def install() -> None:
    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
