"""Training jobs and their compilation attempts, read."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func
from sqlmodel import Session, col, select

from ..domain.attempts import may_auto_compile
from ..domain.clock import as_utc
from ..domain.status import CompilationStatus, Rollup, TrainingStatus
from ..tables import CompilationAttempt, TrainingJob
from .places import here, place_of, visible

CHUNK = 500  # names per IN (…): well under SQLite's 32,766 bound parameters


@dataclass(frozen=True, slots=True)
class JobSummary:
    """What the list of training jobs shows of one: plain values, not a tracked record (10,000 of them are
    read at a start: records would cost seconds of CPU, much of it in the garbage collector)."""

    use_case: str
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

    use_case: str
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


def job_summaries(
    session: Session, names: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> list[JobSummary]:
    """Every training job (or those named) of the places given (None: all), as summaries: one query (per
    CHUNK names)."""
    columns = _columns(TrainingJob, JobSummary.__slots__)
    seen = visible(TrainingJob.use_case, use_cases)
    queries: list[Select[Any]] = [select(*columns).where(seen)]
    if names is not None:
        ordered = sorted(set(names))
        queries = [
            select(*columns).where(seen, col(TrainingJob.name).in_(ordered[start : start + CHUNK]))
            for start in range(0, len(ordered), CHUNK)
        ]
    return [JobSummary(*row) for query in queries for row in session.execute(query)]


def latest_attempt_summaries(
    session: Session, training_jobs: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> dict[str, list[AttemptSummary]]:
    """`latest_attempts_by_training_job` as summaries: the same attempts, same order, as plain values."""
    attempt_ = CompilationAttempt
    result: dict[str, list[AttemptSummary]] = {}
    for chunk in _chunks(training_jobs):
        latest = _latest_ids(chunk, use_cases)
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


def _latest_ids(chunk: list[str] | None, use_cases: Collection[str] | None) -> Any:
    """A subquery: each attempt's id and its rank among its target's attempts (1: the latest)."""
    attempt_ = CompilationAttempt
    newest_first = func.row_number().over(
        partition_by=(col(attempt_.use_case), col(attempt_.training_job_name), col(attempt_.target_id)),
        order_by=(col(attempt_.attempt).desc(), col(attempt_.id).desc()),
    )
    ranked = select(attempt_.id, newest_first.label('rank'))
    ranked = ranked.where(col(attempt_.training_job_name).is_not(None), visible(attempt_.use_case, use_cases))
    if chunk is not None:
        ranked = ranked.where(col(attempt_.training_job_name).in_(chunk))
    return ranked.subquery()


def training_jobs(session: Session, use_cases: Collection[str] | None = None) -> list[TrainingJob]:
    """Every training job of the places given (None: all), newest first."""
    query = select(TrainingJob).where(visible(TrainingJob.use_case, use_cases))
    return list(session.exec(query.order_by(col(TrainingJob.created_at).desc())))


def training_jobs_named(
    session: Session, names: Iterable[str], use_cases: Collection[str] | None = None
) -> list[TrainingJob]:
    """The training jobs of these names in the places given (None: all)."""
    ordered = sorted(set(names))
    found: list[TrainingJob] = []
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        query = select(TrainingJob).where(
            visible(TrainingJob.use_case, use_cases), col(TrainingJob.name).in_(chunk)
        )
        found.extend(session.exec(query))
    return found


def training_job(session: Session, name: str, use_case: str | None = None) -> TrainingJob | None:
    """The training job of this name in `use_case` (a place key; None: the session's place)."""
    query = select(TrainingJob).where(here(TrainingJob.use_case, session, use_case), TrainingJob.name == name)
    return session.exec(query).first()


def attempts_for(
    session: Session, training_job: str, use_case: str | None = None
) -> list[CompilationAttempt]:
    """Every attempt of the training job (in `use_case`; None: the session's place), by target and attempt
    number."""
    query = (
        select(CompilationAttempt)
        .where(
            here(CompilationAttempt.use_case, session, use_case),
            CompilationAttempt.training_job_name == training_job,
        )
        .order_by(col(CompilationAttempt.target_id), col(CompilationAttempt.attempt))
    )
    return list(session.exec(query))


def latest_attempts(
    session: Session, training_job: str, use_case: str | None = None
) -> list[CompilationAttempt]:
    """The latest attempt of each target of the training job."""
    latest: dict[str, CompilationAttempt] = {}
    for attempt in attempts_for(session, training_job, use_case):
        latest[attempt.target_id] = attempt
    return list(latest.values())


def attempt(session: Session, job_name: str, use_case: str | None = None) -> CompilationAttempt | None:
    """The attempt of this compilation job name (in `use_case`; None: the session's place)."""
    query = select(CompilationAttempt).where(
        here(CompilationAttempt.use_case, session, use_case), CompilationAttempt.job_name == job_name
    )
    return session.exec(query).first()


def latest_attempt(session: Session, training_job: str, target_id: str) -> CompilationAttempt | None:
    query = (
        select(CompilationAttempt)
        .where(
            here(CompilationAttempt.use_case, session),
            CompilationAttempt.training_job_name == training_job,
            CompilationAttempt.target_id == target_id,
        )
        .order_by(col(CompilationAttempt.attempt).desc())
        .limit(1)
    )
    return session.exec(query).first()


def next_attempt_number(session: Session, training_job: str, target_id: str) -> int:
    query = select(func.max(CompilationAttempt.attempt)).where(
        here(CompilationAttempt.use_case, session),
        CompilationAttempt.training_job_name == training_job,
        CompilationAttempt.target_id == target_id,
    )
    return (session.exec(query).first() or 0) + 1


def latest_attempts_by_training_job(
    session: Session, training_jobs: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> dict[str, list[CompilationAttempt]]:
    """The latest attempt of each target, for many training jobs at once (all of them when None), in the
    places given (None: all). Keyed by training job name: a name in several places lists the attempts of each
    (match them on `.use_case`).

    One query (per CHUNK names when names are given); each job's attempts are ordered by target label.
    """
    attempt_ = CompilationAttempt
    result: dict[str, list[CompilationAttempt]] = {}
    for chunk in _chunks(training_jobs):
        latest = _latest_ids(chunk, use_cases)
        query = (
            select(attempt_)
            .join(latest, col(attempt_.id) == latest.c.id)
            .where(latest.c.rank == 1)
            .order_by(col(attempt_.target_label), col(attempt_.target_id))
        )
        for row in session.exec(query):
            result.setdefault(row.training_job_name or '', []).append(row)
    return result


def completed_durations(
    session: Session, newest_per_target: int = 200, use_cases: Collection[str] | None = None
) -> list[tuple[str, str, float]]:
    """(compilation job, target id, seconds from start to end) of the newest Completed attempts per target,
    newest first."""
    attempt_ = CompilationAttempt
    query = (
        select(attempt_.job_name, attempt_.target_id, attempt_.started_at, attempt_.ended_at)
        .where(
            attempt_.status == CompilationStatus.COMPLETED,
            col(attempt_.started_at).is_not(None),
            col(attempt_.ended_at).is_not(None),
            visible(attempt_.use_case, use_cases),
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
        query = select(key, table.last_modified).where(here(table.use_case, session), col(key).in_(chunk))
        result.update({name: modified for name, modified in session.exec(query)})
    return result


def unconfirmed_attempts(session: Session, older_than: datetime) -> list[CompilationAttempt]:
    """Attempts of the session's place reserved but never confirmed by AWS (the portal stopped in between)."""
    query = select(CompilationAttempt).where(
        here(CompilationAttempt.use_case, session),
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
        for job in training_jobs_named(session, names, [place_of(session)])
        if may_auto_compile(job.status, job.first_seen_status, job.auto_compiled_at)
    ]
