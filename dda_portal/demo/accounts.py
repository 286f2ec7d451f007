"""Other AWS accounts in moto: clients that act in a given account, and the role a use case assumes there.

moto keeps state per account; a request names its account by its credentials (an assumed role's keys belong to
the role's account) or, for setting an account up, by moto's `x-moto-account-id` header, which `client_in`
adds to every request of its client.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

MOTO_ACCOUNT_HEADER = 'x-moto-account-id'


def client_in(service: str, account_id: str, region: str = 'us-east-1') -> Any:
    """A boto3 client whose requests moto serves in `account_id` (whatever the credentials say)."""
    made = boto3.session.Session().client(service, region_name=region)

    def name_the_account(request: Any, **_: Any) -> None:
        request.headers[MOTO_ACCOUNT_HEADER] = account_id

    made.meta.events.register('before-sign', name_the_account)
    return made


def trust_policy(trusted_account: str, external_id: str | None) -> dict[str, Any]:
    """The trust policy of a use-case role: the central account may assume it, with the external id."""
    statement: dict[str, Any] = {
        'Effect': 'Allow',
        'Principal': {'AWS': f'arn:aws:iam::{trusted_account}:root'},
        'Action': 'sts:AssumeRole',
    }
    if external_id is not None:
        statement['Condition'] = {'StringEquals': {'sts:ExternalId': external_id}}
    return {'Version': '2012-10-17', 'Statement': [statement]}


def create_use_case_role(
    account_id: str, role_name: str, trusted_account: str, external_id: str | None
) -> str:
    """Create the role a use case assumes in `account_id` (in moto's IAM); returns its ARN."""
    iam = client_in('iam', account_id)
    created = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps(trust_policy(trusted_account, external_id)),
        Description='Read by the DDA Portal of the central account',
    )
    return str(created['Role']['Arn'])
