"""First start against an account: which refresh failures mean the portal is not set up yet (no
credentials, no region, an expired session, keys AWS does not know, a call the policy does not allow), and
what a person sets to fix each, in plain words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .refresh import COMPONENTS, DEVICES, SAGEMAKER

POLICY_FILE = 'deploy/iam-policy.json'
DEMO = 'No AWS account at hand? Start the portal with --demo: a local AWS emulator with demo data.'


class Situation(StrEnum):
    NO_CREDENTIALS = 'no-credentials'
    NO_REGION = 'no-region'
    EXPIRED = 'expired'
    INVALID_KEYS = 'invalid-keys'
    ACCESS_DENIED = 'access-denied'


# botocore's exception names (a failure raised before any request) and AWS's error codes
CODES: dict[str, Situation] = {
    'NoCredentialsError': Situation.NO_CREDENTIALS,
    'PartialCredentialsError': Situation.NO_CREDENTIALS,
    'NoRegionError': Situation.NO_REGION,
    'ExpiredToken': Situation.EXPIRED,
    'ExpiredTokenException': Situation.EXPIRED,
    'RequestExpired': Situation.EXPIRED,
    'TokenRetrievalError': Situation.EXPIRED,  # an SSO session that ended
    'SSOTokenLoadError': Situation.EXPIRED,
    'UnauthorizedSSOTokenError': Situation.EXPIRED,
    'UnrecognizedClientException': Situation.INVALID_KEYS,
    'InvalidClientTokenId': Situation.INVALID_KEYS,
    'SignatureDoesNotMatch': Situation.INVALID_KEYS,
    'InvalidSignatureException': Situation.INVALID_KEYS,
    'IncompleteSignature': Situation.INVALID_KEYS,
    'InvalidAccessKeyId': Situation.INVALID_KEYS,
    'AccessDeniedException': Situation.ACCESS_DENIED,
    'AccessDenied': Situation.ACCESS_DENIED,
    'UnauthorizedOperation': Situation.ACCESS_DENIED,
}

# the IoT calls a refresh makes (the devices part's thing groups); every other Greengrass part's call is
# greengrass:<call>
IOT_CALLS = frozenset(
    {'ListThingGroups', 'ListThingsInThingGroup', 'DescribeThing', 'DescribeThingGroup', 'DescribeJob'}
)
_DENIED_ACTION = re.compile(r'perform:\s*([a-z0-9-]+:[A-Za-z0-9*]+)')


@dataclass(frozen=True)
class SetupHelp:
    """What is wrong in plain words, what to set, and AWS's own words (shown as text)."""

    situation: Situation
    title: str
    what: str
    steps: tuple[str, ...]
    code: str
    message: str
    call: str = ''
    missing_action: str = ''  # access denied: the IAM action to allow


def missing_action(message: str, call: str, part: str = SAGEMAKER) -> str:
    """The IAM action a denied call needs: as AWS's message names it, else from the call and the part."""
    named = _DENIED_ACTION.search(message)
    if named:
        return named.group(1)
    if not call:
        return ''
    if part == SAGEMAKER:
        return f'sagemaker:{call}'
    if part in (COMPONENTS, DEVICES):
        return f'iot:{call}' if call in IOT_CALLS else f'greengrass:{call}'
    return call


def explain(
    code: str | None, message: str | None = '', call: str | None = '', part: str = SAGEMAKER
) -> SetupHelp | None:
    """The explanation for a refresh failure that means the portal is not set up; None for any other
    failure (an outage, a throttle, a bad endpoint: the banner tells those)."""
    situation = CODES.get(code or '')
    if situation is None:
        return None
    code, message, call = code or '', message or '', call or ''
    credentials = (
        'Set AWS_PROFILE to a profile in ~/.aws/config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY '
        '(and AWS_SESSION_TOKEN for temporary keys), in the environment the portal starts in, then '
        'restart it.'
    )
    if situation is Situation.NO_CREDENTIALS:
        return SetupHelp(
            situation,
            'No AWS credentials found',
            'The portal found no AWS credentials: not in the environment, not in ~/.aws, not from an '
            'instance role. It cannot read your SageMaker jobs until it has some.',
            (credentials,),
            code,
            message,
            call,
        )
    if situation is Situation.NO_REGION:
        return SetupHelp(
            situation,
            'No AWS region set',
            'The portal does not know which AWS region your SageMaker jobs and Greengrass devices are in, '
            'so it has not called AWS.',
            (
                'Set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=eu-west-1, or region = … in the '
                'profile in ~/.aws/config, then restart the portal.',
            ),
            code,
            message,
            call,
        )
    if situation is Situation.EXPIRED:
        clock = (
            (
                'If the session is not old, check the computer clock: AWS refuses requests signed at a '
                'wrong time.',
            )
            if code == 'RequestExpired'
            else ()
        )
        return SetupHelp(
            situation,
            'The AWS session has expired',
            'The temporary AWS credentials the portal uses have run out, so AWS refuses every call.',
            (
                'For an SSO profile, run aws sso login (with --profile if you use AWS_PROFILE); the portal '
                'picks up the new session on its next refresh.',
                'For temporary keys, set a fresh AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and '
                'AWS_SESSION_TOKEN and restart the portal.',
                *clock,
            ),
            code,
            message,
            call,
        )
    if situation is Situation.INVALID_KEYS:
        return SetupHelp(
            situation,
            'AWS does not accept these credentials',
            'AWS does not recognise the access key, or the secret key does not match it (a typo, a deleted '
            'key, or a session token missing or left over from other keys).',
            (
                'Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN: set only with '
                'temporary keys), or the profile AWS_PROFILE names, then restart the portal.',
            ),
            code,
            message,
            call,
        )
    action = missing_action(message, call, part)
    needed = f'the action {action}' if action else 'the actions the portal calls'
    return SetupHelp(
        situation,
        'AWS refused a call: permission missing',
        f'The credentials work, but their IAM policy does not allow {needed}'
        + (f' (the call {call})' if call else '')
        + '.',
        (
            f'Attach the policy in {POLICY_FILE} (in the portal repository) to the role or user the portal '
            'runs as, with your account id, bucket and role names filled in'
            + (f'; it allows {action}.' if action else '.'),
            'The portal retries on its next refresh, or press Try again.',
        ),
        code,
        message,
        call,
        action,
    )


def first_run(
    never_succeeded: bool, code: str | None, message: str | None, call: str | None
) -> SetupHelp | None:
    """The page-level explanation while SageMaker's part has never succeeded and last failed for one of the
    set-up reasons; None once a refresh succeeded (the banner then tells a later failure)."""
    if not never_succeeded:
        return None
    return explain(code, message, call, SAGEMAKER)
