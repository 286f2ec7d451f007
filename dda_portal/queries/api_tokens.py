"""The JSON API's tokens, by name; only the SHA-256 of a token is ever written or compared."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from ..tables import ApiToken


def by_hash(session: Session, token_hash: str) -> ApiToken | None:
    """The token with this hash, revoked or not (the caller decides)."""
    return session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def named(session: Session, name: str) -> ApiToken | None:
    return session.get(ApiToken, name)


def every(session: Session) -> list[ApiToken]:
    """Every token, by name (revoked ones included)."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.name))))


def create(session: Session, name: str, role: str, token_hash: str, now: datetime) -> bool:
    """Record a new token; False when the name is taken (revoked names stay taken: their history stays)."""
    if session.get(ApiToken, name) is not None:
        return False
    session.add(ApiToken(name=name, role=role, token_hash=token_hash, created_at=now))
    return True


def revoke(session: Session, name: str, now: datetime) -> bool | None:
    """Revoke a token: True when revoked now, False when it was already, None when no token has the name."""
    token = session.get(ApiToken, name)
    if token is None:
        return None
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    return True


def mark_used(session: Session, token_hash: str, now: datetime) -> None:
    """When the token was last used (at most about once a minute: the caller spaces the writes)."""
    session.execute(update(ApiToken).where(col(ApiToken.token_hash) == token_hash).values(last_used_at=now))
