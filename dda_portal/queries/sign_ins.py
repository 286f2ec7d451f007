"""The browsers signed in with a password, by the SHA-256 of their session id (never the id itself)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col

from ..tables import SignIn


def signed_in(session: Session, session_hash: str) -> SignIn | None:
    """The sign-in of a browser session, expired or not (the gate decides)."""
    return session.get(SignIn, session_hash)


def start(session: Session, session_hash: str, name: str, since: datetime, expired_before: datetime) -> None:
    """Record a sign-in, and forget those that expired (they do not pile up)."""
    end_expired(session, expired_before)
    session.merge(SignIn(session_hash=session_hash, name=name, since=since))


def end(session: Session, session_hash: str) -> None:
    """Sign-out: the session opens nothing on any replica (once their short cache has let it go)."""
    session.execute(delete(SignIn).where(col(SignIn.session_hash) == session_hash))


def end_expired(session: Session, expired_before: datetime) -> int:
    """Forget sign-ins that began before `expired_before`; how many."""
    result = session.execute(delete(SignIn).where(col(SignIn.since) < expired_before))
    return int(getattr(result, 'rowcount', 0) or 0)
