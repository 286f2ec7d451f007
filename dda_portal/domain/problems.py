"""Failures as the user is shown them: one class per family (AWS, not allowed, invalid, unavailable)."""

from __future__ import annotations

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


class Problem(Exception):
    """Why something a person asked for was not done, in words for them.

    One class per family of failure; each is raised where the failure is found and shown by one function
    (pages/problems.py), so the same failure reads the same on every page and in every toast.
    """

    def __init__(self, message: str, kind: str = '') -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # a stable word for machines (the JSON API's error codes); '' when none was given

    @property
    def transient(self) -> bool:
        """Worth asking again later, as opposed to a refusal that stays."""
        return False

    def __str__(self) -> str:
        return self.message

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and str(other) == str(self)

    def __hash__(self) -> int:
        return hash((type(self).__name__, str(self)))


class NotAllowed(Problem):
    """The person may not: their session ended, or their role does not allow the change."""


class Invalid(Problem):
    """The request does not fit what the portal knows: a value SageMaker would refuse, a job that is not the
    page's, a state that does not allow it, a setting that is missing."""


class Unavailable(Problem):
    """The portal cannot do it now (too busy, shutting down); asking again later may work."""

    @property
    def transient(self) -> bool:
        return True


class AwsProblem(Problem):
    """An AWS failure in the words AWS used: its error code and message (and the call, when AWS said)."""

    def __init__(self, code: str, message: str, operation: str = '') -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation

    @property
    def transient(self) -> bool:
        """Throttled, AWS failing, the network: as opposed to a refusal."""
        return self.code in TRANSIENT_CODES or (self.code.startswith('HTTP5') and self.code[4:].isdigit())

    @property
    def where(self) -> str:
        """The message, naming the call that failed when known (the banner shows this)."""
        return f'{self.message} (in {self.operation})' if self.operation else self.message

    def __str__(self) -> str:
        return f'{self.code}: {self.message}'

    def __repr__(self) -> str:
        return f'AwsProblem({self.code!r}, {self.message!r}, {self.operation!r})'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AwsProblem) and (self.code, self.message, self.operation) == (
            other.code,
            other.message,
            other.operation,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.operation))
