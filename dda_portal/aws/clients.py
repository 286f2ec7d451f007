"""boto3 clients with adaptive retries, the standard credential chain and AWS_ENDPOINT_URL*."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from ..domain.problems import AwsProblem

# Endpoints come from boto3's own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables.
_CONFIG = Config(
    retries={'mode': 'adaptive', 'max_attempts': 5},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra='dda-portal',
)
# Reads a person waits for (logs, object sizes, download links, tags): a short wait and one retry, so that an
# AWS that does not answer gives the page an answer within seconds instead of minutes.
INTERACTIVE_CONFIG = Config(
    retries={'mode': 'standard', 'total_max_attempts': 2},  # the first try and one retry
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra='dda-portal',
)


class CallCounter:
    """Counts AWS API calls made through the clients it watches (a botocore event hook)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.by_operation: dict[str, int] = {}

    def watch(self, client: Any) -> None:
        client.meta.events.register('before-call.*.*', self._count)

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.total += 1
            self.by_operation[model.name] = self.by_operation.get(model.name, 0) + 1


class AwsClients:
    """The clients the portal uses, made once from one boto3 session."""

    def __init__(
        self,
        region: str | None = None,
        *,
        config: Config = _CONFIG,
        beside: AwsClients | None = None,
        session: boto3.session.Session | None = None,
        counter: CallCounter | None = None,
    ) -> None:
        """`beside`: another set whose session, region and call counter these clients share. `session`: the
        boto3 session to use (a use case's, use_cases.session_for; its region), `counter`: one to share."""
        self.session: boto3.session.Session = (
            beside.session if beside else session or boto3.session.Session(region_name=region or env_region())
        )
        # without a region the clients are still made (the portal starts and explains), but no call goes out:
        # a guessed region would show an empty table instead of saying what to set
        self.region_set: bool = beside.region_set if beside else bool(self.session.region_name)
        self.region: str = beside.region if beside else self.session.region_name or 'us-east-1'
        self.counter: CallCounter = beside.counter if beside else counter or CallCounter()
        self.config = config
        self.sagemaker = self._client('sagemaker')
        self.logs = self._client('logs')
        self.greengrass = self._client('greengrassv2')
        self.iot = self._client('iot')  # thing groups (deployments), thing attributes (the matrix)
        # SigV4 presigned URLs work in every region (SigV2 ones do not)
        self.s3 = self._client('s3', config.merge(Config(signature_version='s3v4')))

    def require_region(self) -> None:
        """Raise botocore's NoRegionError when no AWS_REGION, AWS_DEFAULT_REGION or profile region is set."""
        if not self.region_set:
            raise NoRegionError()

    def interactive(self) -> AwsClients:
        """A second set for reads a person waits for: short timeouts and one retry (INTERACTIVE_CONFIG),
        the same session and call counter."""
        return AwsClients(config=INTERACTIVE_CONFIG, beside=self)

    def _client(self, service: str, config: Config | None = None) -> Any:
        client = self.session.client(service, region_name=self.region, config=config or self.config)
        self.counter.watch(client)
        return client


def env_region() -> str | None:
    """AWS_REGION, which the AWS CLI v2 and the other SDKs read before AWS_DEFAULT_REGION and the profile's
    region, but boto3 does not read at all (botocore's `region` is AWS_DEFAULT_REGION or the profile's):
    without this, `AWS_REGION=eu-west-1` alone would leave the portal without a region."""
    return os.environ.get('AWS_REGION') or None


def problem_from(error: BaseException) -> AwsProblem:
    if isinstance(error, ClientError):
        details = error.response.get('Error', {})
        code = str(details.get('Code') or 'ClientError')
        message = str(details.get('Message') or error)
        if '<html' in message.lower():  # an endpoint or proxy answered with an HTML error page, not AWS JSON
            status = error.response.get('ResponseMetadata', {}).get('HTTPStatusCode', code)
            return AwsProblem(
                f'HTTP{status}', f'The AWS endpoint answered HTTP {status} without an AWS error.'
            )
        return AwsProblem(code, message, error.operation_name or '')
    if isinstance(error, BotoCoreError):
        return AwsProblem(type(error).__name__, str(error))
    return AwsProblem(type(error).__name__, str(error) or repr(error))
