"""Log events as the portal shows and exports them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LogEvent:
    stream: str
    timestamp: datetime
    message: str


@dataclass(frozen=True)
class LogRead:
    """The events found, or why there are none."""

    events: list[LogEvent]
    missing: str | None = None
    truncated: bool = False


def log_text(read: LogRead) -> str:
    """Events as a plain text file: one `time<TAB>stream<TAB>message` line each."""
    return ''.join(f'{e.timestamp.isoformat()}\t{e.stream}\t{e.message.rstrip()}\n' for e in read.events)
