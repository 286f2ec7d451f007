"""An AWS failure as the user is shown it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsProblem:
    """An AWS failure in the words AWS used: its error code and message."""

    code: str
    message: str

    def __str__(self) -> str:
        return f'{self.code}: {self.message}'
