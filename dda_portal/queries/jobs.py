"""Training jobs and their compilation attempts, read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func
from sqlmodel import Session, col, select

from ..domain.attempts import may_auto_compile
from ..domain.clock import as_utc
from ..domain.status import CompilationStatus, Rollup, TrainingStatus
from ..tables import CompilationAttempt, TrainingJob

CHUNK = 500  # names per IN (…): well under SQLite's 32,766 bound parameters


@dataclass(frozen=True, slots=True)
class JobSummary:
    """What the list of training jobs shows of one: plain values, not a tracked record (10,000 of them are
    read at a start: records would cost seconds of CPU, much of it in the garbage collector)."""

    name: str
    status: TrainingStatus
    rollup: Rollup
    created_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    targets_compiled: int
    targets_total: int


@dataclass(frozen=True, slots=True)
class AttemptSummary:
    """A target's latest compilation attempt as the list (its tooltip, its CSV, the estimates) needs it."""

    training_job_name: str
    job_name: str
    target_id: str
    target_label: str
    status: CompilationStatus
    started_at: datetime | None
    ended_at: datetime | None
    last_modified: datetime | None
    failure_reason: str | None


def _columns(model: Any, fields: Iterable[str]) -> list[Any]:
    return [getattr(model, name) for name in fields]


def job_summaries(session: Session, names: Iterable[str] | None = None) -> list[JobSummary]:
    """Every training job (or those named), as summaries: one query (per CHUNK names)."""
    columns = _columns(TrainingJob, JobSummary.__slots__)
    queries: list[Select[Any]] = [select(*columns)]
    if names is not None:
        ordered = sorted(set(names))
        queries = [
            select(*columns).where(col(TrainingJob.name).in_(ordered[start : start + CHUNK]))
            for start in range(0, len(ordered), CHUNK)
        ]
    return [JobSummary(*row) for query in queries for row in session.execute(query)]


def latest_attempt_summaries(
    session: Session, training_jobs: Iterable[str] | None = None
) -> dict[str, list[AttemptSummary]]:
    """`latest_attempts_by_training_job` as summaries: the same attempts, same order, as plain values."""
    attempt_ = CompilationAttempt
    result: dict[str, list[AttemptSummary]] = {}
    for chunk in _chunks(training_jobs):
        latest = _latest_ids(chunk)
        query = (
            select(*_columns(attempt_, AttemptSummary.__slots__))
            .join(latest, col(attempt_.id) == latest.c.id)
            .where(latest.c.rank == 1)
            .order_by(col(attempt_.target_label), col(attempt_.target_id))
        )
        for row in session.execute(query):
            attempt = AttemptSummary(*row)
            result.setdefault(attempt.training_job_name, []).append(attempt)
    return result


def _chunks(names: Iterable[str] | None) -> list[list[str] | None]:
    if names is None:
        return [None]
    ordered = sorted(set(names))
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


def _latest_ids(chunk: list[str] | None) -> Any:
    """A subquery: each attempt's id and its rank among its target's attempts (1: the latest)."""
    attempt_ = CompilationAttempt
    newest_first = func.row_number().over(
        partition_by=(col(attempt_.training_job_name), col(attempt_.target_id)),
        order_by=(col(attempt_.attempt).desc(), col(attempt_.id).desc()),
    )
    ranked = select(attempt_.id, newest_first.label('rank'))
    ranked = ranked.where(col(attempt_.training_job_name).is_not(None))
    if chunk is not None:
        ranked = ranked.where(col(attempt_.training_job_name).in_(chunk))
    return ranked.subquery()


def training_jobs(session: Session) -> list[TrainingJob]:
    """Every training job, newest first."""
    return list(session.exec(select(TrainingJob).order_by(col(TrainingJob.created_at).desc())))


def training_jobs_named(session: Session, names: Iterable[str]) -> list[TrainingJob]:
    ordered = sorted(set(names))
    found: list[TrainingJob] = []
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        found.extend(session.exec(select(TrainingJob).where(col(TrainingJob.name).in_(chunk))))
    return found


def training_job(session: Session, name: str) -> TrainingJob | None:
    return session.get(TrainingJob, name)


def attempts_for(session: Session, training_job: str) -> list[CompilationAttempt]:
    """Every attempt of the training job, by target and attempt number."""
    query = (
        select(CompilationAttempt)
        .where(CompilationAttempt.training_job_name == training_job)
        .order_by(col(CompilationAttempt.target_id), col(CompilationAttempt.attempt))
    )
    return list(session.exec(query))


def latest_attempts(session: Session, training_job: str) -> list[CompilationAttempt]:
    """The latest attempt of each target of the training job."""
    latest: dict[str, CompilationAttempt] = {}
    for attempt in attempts_for(session, training_job):
        latest[attempt.target_id] = attempt
    return list(latest.values())


def attempt(session: Session, job_name: str) -> CompilationAttempt | None:
    """The attempt of this compilation job name."""
    return session.exec(select(CompilationAttempt).where(CompilationAttempt.job_name == job_name)).first()


def latest_attempt(session: Session, training_job: str, target_id: str) -> CompilationAttempt | None:
    query = (
        select(CompilationAttempt)
        .where(
            CompilationAttempt.training_job_name == training_job, CompilationAttempt.target_id == target_id
        )
        .order_by(col(CompilationAttempt.attempt).desc())
        .limit(1)
    )
    return session.exec(query).first()


def next_attempt_number(session: Session, training_job: str, target_id: str) -> int:
    query = select(func.max(CompilationAttempt.attempt)).where(
        CompilationAttempt.training_job_name == training_job, CompilationAttempt.target_id == target_id
    )
    return (session.exec(query).first() or 0) + 1


def latest_attempts_by_training_job(
    session: Session, training_jobs: Iterable[str] | None = None
) -> dict[str, list[CompilationAttempt]]:
    """The latest attempt of each target, for many training jobs at once (all of them when None).

    One query (per CHUNK names when names are given); each job's attempts are ordered by target label.
    """
    attempt_ = CompilationAttempt
    result: dict[str, list[CompilationAttempt]] = {}
    for chunk in _chunks(training_jobs):
        latest = _latest_ids(chunk)
        query = (
            select(attempt_)
            .join(latest, col(attempt_.id) == latest.c.id)
            .where(latest.c.rank == 1)
            .order_by(col(attempt_.target_label), col(attempt_.target_id))
        )
        for row in session.exec(query):
            result.setdefault(row.training_job_name or '', []).append(row)
    return result


def completed_durations(session: Session, newest_per_target: int = 200) -> list[tuple[str, str, float]]:
    """(compilation job, target id, seconds from start to end) of the newest Completed attempts per target,
    newest first."""
    attempt_ = CompilationAttempt
    query = (
        select(attempt_.job_name, attempt_.target_id, attempt_.started_at, attempt_.ended_at)
        .where(
            attempt_.status == CompilationStatus.COMPLETED,
            col(attempt_.started_at).is_not(None),
            col(attempt_.ended_at).is_not(None),
        )
        .order_by(col(attempt_.ended_at).desc())
    )
    result: list[tuple[str, str, float]] = []
    per_target: dict[str, int] = {}
    for job_name, target_id, started, ended in session.exec(query):
        start, end = as_utc(started), as_utc(ended)
        if start is None or end is None or per_target.get(target_id, 0) >= newest_per_target:
            continue
        per_target[target_id] = per_target.get(target_id, 0) + 1
        result.append((job_name, target_id, (end - start).total_seconds()))
    return result


def known_modification_times(
    session: Session, table: type[TrainingJob] | type[CompilationAttempt], names: Sequence[str]
) -> dict[str, datetime]:
    """LastModifiedTime the store holds for these jobs (absent when unknown)."""
    key = TrainingJob.name if table is TrainingJob else CompilationAttempt.job_name
    result: dict[str, datetime] = {}
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        query = select(key, table.last_modified).where(col(key).in_(chunk))
        result.update({name: modified for name, modified in session.exec(query)})
    return result


def unconfirmed_attempts(session: Session, older_than: datetime) -> list[CompilationAttempt]:
    """Attempts reserved but never confirmed by AWS (the portal stopped in between)."""
    query = select(CompilationAttempt).where(
        col(CompilationAttempt.reserved).is_(True),
        CompilationAttempt.arn == '',
        CompilationAttempt.status == CompilationStatus.STARTING,
        col(CompilationAttempt.created_at) < older_than,
    )
    return list(session.exec(query))


def auto_compile_candidates(session: Session, names: Iterable[str]) -> list[str]:
    """Of these training jobs, those automatic compilation is due for (domain.attempts.may_auto_compile)."""
    return [
        job.name
        for job in training_jobs_named(session, names)
        if may_auto_compile(job.status, job.first_seen_status, job.auto_compiled_at)
    ]
