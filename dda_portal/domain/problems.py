"""An AWS failure as the user is shown it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsProblem:
    """An AWS failure in the words AWS used: its error code and message."""

    code: str
    message: str
    operation: str = ''  # the AWS call that failed, when AWS said which

    @property
    def where(self) -> str:
        """The message, naming the call that failed when known (the banner shows this)."""
        return f'{self.message} (in {self.operation})' if self.operation else self.message

    def __str__(self) -> str:
        return f'{self.code}: {self.message}'
