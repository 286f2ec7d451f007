"""Which AWS answers mean "not now" (ask again later) and which mean "no"."""

from __future__ import annotations

import pytest

from dda_portal.domain.problems import AwsProblem


@pytest.mark.parametrize(
    'code',
    [
        'ThrottlingException',
        'Throttling',
        'ServiceUnavailable',
        'InternalFailure',
        'EndpointConnectionError',
        'ReadTimeoutError',
        'ConnectTimeoutError',
        'HTTP503',
        'HTTP500',
    ],
)
def test_throttling_aws_failures_and_the_network_are_transient(code: str) -> None:
    assert AwsProblem(code, 'x').transient


@pytest.mark.parametrize(
    'code',
    [
        'AccessDeniedException',
        'ValidationException',
        'ResourceInUse',
        'ResourceLimitExceeded',
        'HTTP404',
        'HTTP5xx',
    ],
)
def test_refusals_are_not_transient(code: str) -> None:
    assert not AwsProblem(code, 'x').transient


def test_the_banner_names_the_call_when_aws_said_which() -> None:
    assert AwsProblem('ThrottlingException', 'Rate exceeded', 'ListTrainingJobs').where == (
        'Rate exceeded (in ListTrainingJobs)'
    )
    assert AwsProblem('EndpointConnectionError', 'Could not connect').where == 'Could not connect'
