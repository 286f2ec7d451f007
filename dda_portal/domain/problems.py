"""An AWS failure as the user is shown it."""

from __future__ import annotations

from dataclasses import dataclass

# AWS answers that say "not now" rather than "no": throttling, AWS's own failures, the network (the codes
# botocore's standard retry mode treats as transient, plus its connection errors)
TRANSIENT_CODES = frozenset(
    {
        'Throttling',
        'ThrottlingException',
        'ThrottledException',
        'RequestThrottledException',
        'TooManyRequestsException',
        'ProvisionedThroughputExceededException',
        'TransactionInProgressException',
        'RequestLimitExceeded',
        'BandwidthLimitExceeded',
        'RequestThrottled',
        'SlowDown',
        'PriorRequestNotComplete',
        'EC2ThrottledException',
        'InternalError',
        'InternalFailure',
        'InternalServerError',
        'InternalServerException',
        'ServiceUnavailable',
        'ServiceUnavailableException',
        'RequestTimeout',
        'RequestTimeoutException',
        'EndpointConnectionError',
        'ConnectTimeoutError',
        'ReadTimeoutError',
        'ConnectionClosedError',
        'ProxyConnectionError',
    }
)


@dataclass(frozen=True)
class AwsProblem:
    """An AWS failure in the words AWS used: its error code and message."""

    code: str
    message: str
    operation: str = ''  # the AWS call that failed, when AWS said which

    @property
    def transient(self) -> bool:
        """Worth asking again later (throttled, AWS failing, network), as opposed to a refusal."""
        return self.code in TRANSIENT_CODES or (self.code.startswith('HTTP5') and self.code[4:].isdigit())

    @property
    def where(self) -> str:
        """The message, naming the call that failed when known (the banner shows this)."""
        return f'{self.message} (in {self.operation})' if self.operation else self.message

    def __str__(self) -> str:
        return f'{self.code}: {self.message}'
