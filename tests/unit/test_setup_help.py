"""The first-run explanations: each set-up failure recognised by its code, what it asks a person to set."""

from __future__ import annotations

import pytest

from dda_portal.domain.refresh import COMPONENTS, DEVICES
from dda_portal.domain.setup_help import DEMO, POLICY_FILE, Situation, explain, first_run, missing_action


def steps(code: str, message: str = '', call: str = '') -> str:
    help = explain(code, message, call)
    assert help is not None
    return ' '.join(help.steps)


def test_no_credentials_names_the_variables() -> None:
    help = explain('NoCredentialsError', 'Unable to locate credentials', 'ListTrainingJobs')
    assert help is not None and help.situation is Situation.NO_CREDENTIALS
    text = ' '.join(help.steps)
    for variable in (
        'AWS_PROFILE',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_SESSION_TOKEN',
    ):
        assert variable in text
    assert (help.code, help.message, help.call) == (
        'NoCredentialsError',
        'Unable to locate credentials',
        'ListTrainingJobs',
    )


def test_partial_credentials_count_as_none() -> None:
    help = explain('PartialCredentialsError', 'Partial credentials found in env')
    assert help is not None and help.situation is Situation.NO_CREDENTIALS


def test_no_region_names_both_region_variables() -> None:
    help = explain('NoRegionError', 'You must specify a region.')
    assert help is not None and help.situation is Situation.NO_REGION
    assert 'AWS_REGION' in steps('NoRegionError') and 'AWS_DEFAULT_REGION' in steps('NoRegionError')


@pytest.mark.parametrize(
    'code',
    ['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRetrievalError', 'SSOTokenLoadError'],
)
def test_an_expired_session_says_sso_login(code: str) -> None:
    help = explain(code, 'The security token included in the request is expired')
    assert help is not None and help.situation is Situation.EXPIRED
    assert 'aws sso login' in steps(code) and 'AWS_SESSION_TOKEN' in steps(code)


def test_request_expired_mentions_the_clock_and_the_others_do_not() -> None:
    assert 'clock' in steps('RequestExpired')
    assert 'clock' not in steps('ExpiredToken')


@pytest.mark.parametrize(
    'code',
    [
        'UnrecognizedClientException',
        'InvalidClientTokenId',
        'SignatureDoesNotMatch',
        'InvalidSignatureException',
    ],
)
def test_invalid_keys(code: str) -> None:
    help = explain(code, 'The security token included in the request is invalid.')
    assert help is not None and help.situation is Situation.INVALID_KEYS
    assert 'AWS_ACCESS_KEY_ID' in steps(code)


def test_access_denied_names_the_action_aws_names_and_the_policy_file() -> None:
    message = (
        'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: sagemaker:ListTrainingJobs '
        'because no identity-based policy allows the sagemaker:ListTrainingJobs action'
    )
    help = explain('AccessDeniedException', message, 'ListTrainingJobs')
    assert help is not None and help.situation is Situation.ACCESS_DENIED
    assert help.missing_action == 'sagemaker:ListTrainingJobs'
    assert 'sagemaker:ListTrainingJobs' in help.what and POLICY_FILE in ' '.join(help.steps)


def test_access_denied_without_a_named_action_guesses_from_the_call_and_the_part() -> None:
    assert missing_action('Access denied', 'ListCompilationJobs') == 'sagemaker:ListCompilationJobs'
    assert missing_action('Access denied', 'ListComponents', COMPONENTS) == 'greengrass:ListComponents'
    assert missing_action('Access denied', 'ListThingGroups', DEVICES) == 'iot:ListThingGroups'
    assert missing_action('Access denied', '') == ''
    help = explain('AccessDenied', 'Access denied', '')
    assert help is not None and help.missing_action == '' and POLICY_FILE in ' '.join(help.steps)


@pytest.mark.parametrize('code', ['EndpointConnectionError', 'ThrottlingException', 'HTTP503', '', None])
def test_other_failures_are_left_to_the_banner(code: str | None) -> None:
    assert explain(code, 'whatever') is None


def test_first_run_only_while_sagemaker_never_succeeded() -> None:
    assert first_run(True, 'NoCredentialsError', 'Unable to locate credentials', '') is not None
    assert first_run(False, 'NoCredentialsError', 'Unable to locate credentials', '') is None
    assert first_run(True, 'ThrottlingException', 'Rate exceeded', 'ListTrainingJobs') is None
    assert first_run(True, None, None, None) is None


def test_the_demo_is_named_as_the_path_without_an_account() -> None:
    assert '--demo' in DEMO
