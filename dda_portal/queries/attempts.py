"""Compilation attempts the portal starts, confirms, releases, stops and claims; each training job's rollup.

Writes: run them through `Store.write` (one transaction, one writer of this process at a time).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ..domain.attempts import StartDecision, may_auto_compile, may_start
from ..domain.clock import utcnow
from ..domain.status import CompilationStatus, compiled_count, rollup_for
from ..tables import CompilationAttempt
from . import alerts
from .jobs import attempt, latest_attempt
from .jobs import training_job as stored_job
from .places import here, place_of


def reserve_attempt(
    session: Session,
    training_job: str,
    target_id: str,
    target_label: str,
    name_for: Callable[[int], str],
    origin: str,
) -> CompilationAttempt | StartDecision:
    """Write the new attempt as Starting before AWS is asked, or say why it may not start.

    The check and the insert happen in one transaction of the one writer; the unique index turns away a
    concurrent writer from another process.
    """
    job = stored_job(session, training_job)
    if job is None:
        return StartDecision(
            False, f'The portal knows no training job {training_job!r}.', kind='unknown_training_job'
        )
    latest = latest_attempt(session, training_job, target_id)
    decision = may_start(job.status, latest.status if latest else None, latest.attempt if latest else 0)
    if not decision.allowed:
        return decision
    now = utcnow()
    new = CompilationAttempt(
        use_case=place_of(session),
        job_name=name_for(decision.attempt),
        training_job_name=training_job,
        target_id=target_id,
        target_label=target_label,
        attempt=decision.attempt,
        status=CompilationStatus.STARTING,
        created_at=now,
        last_modified=now,
        origin=origin,
        reserved=True,
        input_uri=job.model_artifact,
    )
    session.add(new)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return StartDecision(
            False, 'Another request started this target a moment ago.', kind='already_compiling'
        )
    recompute_rollup(session, training_job)
    return new


def confirm_attempt(
    session: Session, job_name: str, arn: str, framework: str, max_runtime_seconds: int
) -> None:
    """AWS accepted the job: keep its ARN (the refresh fills in the rest)."""
    found = attempt(session, job_name)
    if found is not None:
        found.arn, found.framework = arn, framework
        found.max_runtime_seconds = max_runtime_seconds


def release_attempt(session: Session, job_name: str) -> str | None:
    """AWS refused the job: nothing of it stays; its training job's name."""
    found = attempt(session, job_name)
    if found is None or found.arn:
        return None
    session.delete(found)
    session.flush()
    if found.training_job_name:
        recompute_rollup(session, found.training_job_name)
    return found.training_job_name


def set_attempt_status(
    session: Session, job_name: str, status: CompilationStatus, reason: str | None = None
) -> str | None:
    """A status the portal knows before the next refresh (e.g. Stopping); the training job's name."""
    found = attempt(session, job_name)
    if found is None:
        return None
    before, found.status = found.status, status
    if reason is not None:
        found.failure_reason = reason
    found.last_modified = utcnow()
    alerts.attempt_moved(session, found, before)
    if found.training_job_name:
        session.flush()
        recompute_rollup(session, found.training_job_name)
    return found.training_job_name


def claim_auto_compile(session: Session, training_job: str) -> bool:
    """True once per training job, ever: automatic compilation is due for it (may_auto_compile)."""
    job = stored_job(session, training_job)
    if job is None or not may_auto_compile(job.status, job.first_seen_status, job.auto_compiled_at):
        return False
    job.auto_compiled_at = utcnow()
    return True


def recompute_rollup(session: Session, training_job: str) -> None:
    """The training job's rollup and compiled count, from the latest attempt of each target."""
    row = stored_job(session, training_job)
    if row is None:
        return
    latest: dict[str, CompilationStatus] = {}
    query = (
        select(CompilationAttempt.target_id, CompilationAttempt.status)
        .where(
            here(CompilationAttempt.use_case, session), CompilationAttempt.training_job_name == training_job
        )
        .order_by(col(CompilationAttempt.attempt))
    )
    for target_id, status in session.exec(query):
        latest[target_id] = CompilationStatus(status)
    row.rollup = rollup_for(latest.values())
    count = compiled_count(latest.values())
    row.targets_compiled, row.targets_total = count.compiled, count.total
