"""STS AssumeRole through the real boto3 client answers like AWS: credentials in the role's account when the
role exists and trusts the caller with the external id given, AccessDenied (403) otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from dda_portal.demo.accounts import client_in, create_use_case_role, trust_policy
from dda_portal.use_cases import UseCase, places_of, session_for

pytestmark = pytest.mark.usefixtures('moto_aws')

HOME = '123456789012'
LINE_2 = '222222222222'
EXTERNAL_ID = 'dda-line-2-7f3a'
CALLER = f'arn:aws:sts::{HOME}:user/moto'  # who moto says the 'testing' credentials are


def sts() -> Any:
    return boto3.client('sts', region_name='us-east-1')


def assume(role_arn: str, external_id: str | None = None) -> dict[str, Any]:
    extra = {'ExternalId': external_id} if external_id is not None else {}
    answer: dict[str, Any] = sts().assume_role(RoleArn=role_arn, RoleSessionName='dda-portal', **extra)
    return answer


def denied(role_arn: str, external_id: str | None = None) -> ClientError:
    with pytest.raises(ClientError) as refused:
        assume(role_arn, external_id)
    return refused.value


def expect_denied(error: ClientError, role_arn: str) -> None:
    assert error.response['Error']['Code'] == 'AccessDenied'
    assert error.response['ResponseMetadata']['HTTPStatusCode'] == 403
    assert error.response['Error']['Message'] == (
        f'User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: {role_arn}'
    )


def test_the_role_trusting_the_caller_with_the_external_id_gives_credentials_in_its_account() -> None:
    role_arn = create_use_case_role(LINE_2, 'dda-portal-reader', HOME, EXTERNAL_ID)

    credentials = assume(role_arn, EXTERNAL_ID)['Credentials']
    as_role = boto3.client(
        'sts',
        region_name='eu-west-1',
        aws_access_key_id=credentials['AccessKeyId'],
        aws_secret_access_key=credentials['SecretAccessKey'],
        aws_session_token=credentials['SessionToken'],
    )

    assert as_role.get_caller_identity()['Account'] == LINE_2


def test_a_role_no_account_has_is_denied() -> None:
    role_arn = f'arn:aws:iam::{LINE_2}:role/nobody-made-me'

    expect_denied(denied(role_arn, EXTERNAL_ID), role_arn)


def test_a_role_of_the_same_name_in_another_account_does_not_count() -> None:
    create_use_case_role(HOME, 'dda-portal-reader', HOME, EXTERNAL_ID)
    role_arn = f'arn:aws:iam::{LINE_2}:role/dda-portal-reader'

    expect_denied(denied(role_arn, EXTERNAL_ID), role_arn)


@pytest.mark.parametrize('external_id', [None, 'dda-line-2-wrong'], ids=['no external id', 'another one'])
def test_a_wrong_or_missing_external_id_is_denied(external_id: str | None) -> None:
    role_arn = create_use_case_role(LINE_2, 'dda-portal-reader', HOME, EXTERNAL_ID)

    expect_denied(denied(role_arn, external_id), role_arn)


def test_a_role_trusting_another_account_is_denied() -> None:
    role_arn = create_use_case_role(LINE_2, 'dda-portal-reader', '333333333333', EXTERNAL_ID)

    expect_denied(denied(role_arn, EXTERNAL_ID), role_arn)


def test_a_role_without_an_external_id_condition_needs_none() -> None:
    role_arn = create_use_case_role(LINE_2, 'open-reader', HOME, None)

    assert (
        assume(role_arn)['AssumedRoleUser']['Arn']
        == f'arn:aws:sts::{LINE_2}:assumed-role/open-reader/dda-portal'
    )


def test_one_of_several_external_ids_and_a_list_of_principals_count() -> None:
    policy = {
        'Version': '2012-10-17',
        'Statement': [
            {
                'Effect': 'Allow',
                'Principal': {'AWS': ['arn:aws:iam::333333333333:root', HOME]},
                'Action': ['sts:AssumeRole', 'sts:TagSession'],
                'Condition': {'StringEquals': {'sts:ExternalId': ['old-id', EXTERNAL_ID]}},
            }
        ],
    }
    client_in('iam', LINE_2).create_role(RoleName='reader', AssumeRolePolicyDocument=json.dumps(policy))

    assert assume(f'arn:aws:iam::{LINE_2}:role/reader', EXTERNAL_ID)['Credentials']['AccessKeyId']


def test_a_use_case_whose_role_is_denied_fails_at_its_first_call_with_access_denied() -> None:
    role_arn = create_use_case_role(LINE_2, 'dda-portal-reader', HOME, EXTERNAL_ID)
    use_case = UseCase(
        name='line-2', regions=('eu-west-1',), role_arn=role_arn, external_id='dda-line-2-wrong'
    )
    [place] = places_of([use_case])
    sagemaker = session_for(place, boto3.session.Session()).client('sagemaker')

    with pytest.raises(ClientError) as refused:
        sagemaker.list_training_jobs()

    expect_denied(refused.value, role_arn)


TRUST_POLICY_FILE = Path(__file__).resolve().parents[2] / 'deploy' / 'use-case-trust-policy.json'


def the_documented_trust_policy(central_account: str, external_id: str) -> str:
    text = TRUST_POLICY_FILE.read_text()
    return text.replace('111122223333', central_account).replace('YOUR-EXTERNAL-ID', external_id)


def test_the_documented_trust_policy_lets_the_central_account_in_with_the_external_id_only() -> None:
    client_in('iam', LINE_2).create_role(
        RoleName='dda-portal-reader', AssumeRolePolicyDocument=the_documented_trust_policy(HOME, EXTERNAL_ID)
    )
    role_arn = f'arn:aws:iam::{LINE_2}:role/dda-portal-reader'

    assert assume(role_arn, EXTERNAL_ID)['AssumedRoleUser']['Arn'].startswith(f'arn:aws:sts::{LINE_2}:')
    expect_denied(denied(role_arn, 'dda-line-2-wrong'), role_arn)
    expect_denied(denied(role_arn), role_arn)


def test_the_demos_use_case_role_trusts_like_the_documented_policy() -> None:
    documented = json.loads(the_documented_trust_policy(HOME, EXTERNAL_ID))
    for statement in documented['Statement']:
        statement.pop('Sid')

    assert trust_policy(HOME, EXTERNAL_ID) == documented
