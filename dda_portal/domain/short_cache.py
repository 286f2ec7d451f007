"""Answers read from the store, trusted for a few seconds: what a replica may keep of a sign-in or an API
token before it must read again (another replica may have ended or revoked it meanwhile)."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

V = TypeVar('V')


class ShortCache(Generic[V]):
    """At most `limit` answers (None is an answer too: "unknown"), each trusted for `seconds` from when it was
    remembered. Times come from the caller's clock (time.monotonic; tests move theirs instead of waiting).
    Safe to use from several threads."""

    def __init__(self, seconds: float, limit: int) -> None:
        self.seconds, self.limit = seconds, limit
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, V | None]] = {}

    def fresh(self, key: str, now: float) -> tuple[V | None] | None:
        """(answer,) while it is trusted at `now`; None when there is none or it aged."""
        kept = self._answers.get(key)
        if kept is None or not 0 <= now - kept[0] < self.seconds:
            return None
        return (kept[1],)

    def remember(self, key: str, answer: V | None, now: float) -> None:
        """Keep `answer` from `now`; when full, aged answers go first, then all (the next reads refill it)."""
        with self._lock:
            if len(self._answers) >= self.limit:
                self._answers = {k: v for k, v in self._answers.items() if 0 <= now - v[0] < self.seconds}
                if len(self._answers) >= self.limit:
                    self._answers.clear()
            self._answers[key] = (now, answer)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)
