"""The alerts outbox: transitions recorded in the transaction of the change that causes them, and the sender's
claims and outcomes.

The store puts its AlertPolicy in each session's `info` (none: no alert is recorded); a refresh part's first
success (the history loaded at first start) is written inside `quiet`, so a backfill records nothing. Rows are
inserted with ON CONFLICT DO NOTHING on their key: a transition read again, a restart or a second replica adds
no second row."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import false, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from ..domain import alerts
from ..domain.alerts import AlertDraft, AlertPolicy, AlertState
from ..domain.clock import utcnow
from ..domain.greengrass import ComponentState
from ..domain.status import CompilationStatus, Rollup
from ..tables import Alert, CompilationAttempt, ComponentVersion, TrainingJob
from ..use_cases import DEFAULT_USE_CASE
from .places import here, place_of

POLICY = 'alert_policy'
QUIET = 'alerts_quiet'


def policy_for(session: Session, kind: str) -> AlertPolicy | None:
    """The policy when alerts of this kind are recorded in this session now, else None."""
    policy: AlertPolicy | None = session.info.get(POLICY)
    if policy is None or kind not in policy.rules or session.info.get(QUIET):
        return None
    return policy


@contextmanager
def quiet(session: Session, backfill: bool) -> Iterator[None]:
    """Within it, nothing is recorded when `backfill` (history loaded at first start sends nothing)."""
    before = session.info.get(QUIET, False)
    session.info[QUIET] = before or backfill
    try:
        yield
    finally:
        session.info[QUIET] = before


def record(session: Session, draft: AlertDraft) -> None:
    """Add the draft (of an object of the session's place) to the outbox unless its key is there already
    (write)."""
    draft = alerts.in_place(draft, place_of(session), DEFAULT_USE_CASE)
    values = {
        'key': draft.key,
        'kind': draft.kind,
        'title': draft.title,
        'body': draft.body,
        'link': draft.link,
        'created_at': utcnow(),
        'state': AlertState.WAITING,
        'attempts': 0,
        'next_try_at': utcnow(),
        'delivered_to': '',
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == 'postgresql' else sqlite.insert
    session.execute(insert(Alert).values(**values).on_conflict_do_nothing(index_elements=['key']))


# ---- transitions -------------------------------------------------------------------------------------------


def attempt_moved(session: Session, attempt: CompilationAttempt, before: CompilationStatus | None) -> bool:
    """An attempt's status was written (`before`: None when it is new): a compilation that failed now is
    recorded; True when it completed now (its training job may be compiled for every target)."""
    if attempt.status == before:
        return False
    if attempt.status == CompilationStatus.FAILED:
        policy = policy_for(session, alerts.COMPILATION_FAILED)
        if policy is not None:
            draft = alerts.compilation_failed(
                policy,
                attempt.job_name,
                attempt.training_job_name,
                attempt.target_label,
                attempt.attempt,
                attempt.failure_reason,
            )
            record(session, draft)
    return attempt.status == CompilationStatus.COMPLETED


def compiled_everywhere(session: Session, training_jobs: Iterable[str]) -> None:
    """These training jobs had an attempt complete in this transaction (rollups recomputed): those whose
    latest attempt of every target completed are recorded, once per set of attempts."""
    policy = policy_for(session, alerts.ALL_TARGETS_COMPILED)
    if policy is None:
        return
    for name in sorted(training_jobs):
        job = session.get(TrainingJob, (place_of(session), name))
        if job is None or job.rollup != Rollup.COMPILED:
            continue
        latest: dict[str, CompilationAttempt] = {}
        query = select(CompilationAttempt).where(
            here(CompilationAttempt.use_case, session), CompilationAttempt.training_job_name == name
        )
        for found in session.exec(query.order_by(col(CompilationAttempt.attempt))):
            latest[found.target_id] = found
        attempts = [(a.job_name, a.target_label, a.attempt) for a in latest.values()]
        record(session, alerts.all_targets_compiled(policy, name, attempts))


def component_moved(session: Session, version: ComponentVersion, before: ComponentState | None) -> None:
    """A component version's state was written: a package of a training job's model that failed now."""
    if version.state != ComponentState.FAILED or before == ComponentState.FAILED:
        return
    policy = policy_for(session, alerts.PACKAGING_FAILED)
    if policy is None or not version.training_job_name:
        return
    _packaging_failed(session, policy, version, version.message or version.errors)


def packaging_refused(session: Session, pending: ComponentVersion, reason: str) -> None:
    """Greengrass refused to make the component version the portal asked for."""
    policy = policy_for(session, alerts.PACKAGING_FAILED)
    if policy is not None:
        _packaging_failed(session, policy, pending, reason)


def _packaging_failed(
    session: Session, policy: AlertPolicy, version: ComponentVersion, reason: str | None
) -> None:
    draft = alerts.packaging_failed(
        policy,
        version.compilation_job_name or version.arn,
        f'{version.component_name} {version.component_version}',
        version.training_job_name,
        _target_label(session, version.compilation_job_name) or version.target_id,
        reason,
    )
    record(session, draft)


def _target_label(session: Session, compilation_job: str | None) -> str | None:
    """How messages name the target of a compilation job (its catalogue label)."""
    if not compilation_job:
        return None
    query = select(CompilationAttempt.target_label).where(
        here(CompilationAttempt.use_case, session), CompilationAttempt.job_name == compilation_job
    )
    return session.exec(query).first()


def device_became_unhealthy(
    session: Session, thing: str, changed_at: datetime | None, running: Iterable[tuple[str, str]]
) -> None:
    """A device reports Unhealthy now and did not before: recorded when it runs a training job's model."""
    policy = policy_for(session, alerts.DEVICE_UNHEALTHY)
    releases = set(running)
    if policy is None or not releases:
        return
    models: list[tuple[str, str | None, str | None]] = []
    query = select(ComponentVersion).where(
        here(ComponentVersion.use_case, session),
        col(ComponentVersion.component_name).in_(sorted({name for name, _ in releases})),
    )
    for version in session.exec(query):
        if (version.component_name, version.component_version) in releases and version.training_job_name:
            label = _target_label(session, version.compilation_job_name)
            component = f'{version.component_name} {version.component_version}'
            models.append((component, version.training_job_name, label or version.target_id))
    if models:
        moment = (changed_at or utcnow()).isoformat()
        record(session, alerts.device_unhealthy(policy, thing, moment, models))


# ---- the sender --------------------------------------------------------------------------------------------


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int = 20) -> list[Alert]:
    """Waiting alerts due now that no other sender holds, each claimed for `lease` (write; on PostgreSQL
    the rows another sender is claiming are skipped, and the claim itself is a conditional update)."""
    free = or_(col(Alert.claimed_until).is_(None), col(Alert.claimed_until) <= now)
    query = (
        select(Alert)
        .where(Alert.state == AlertState.WAITING, col(Alert.next_try_at) <= now, free)
        .order_by(col(Alert.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed: list[Alert] = []
    for row in list(session.exec(query)):
        taken = session.execute(
            update(Alert)
            .where(col(Alert.id) == row.id, col(Alert.state) == AlertState.WAITING, free)
            .values(claimed_until=now + lease)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(row)
    return claimed


def delivered(session: Session, alert_id: int, channels: str) -> None:
    row = session.get(Alert, alert_id)
    if row is not None:
        row.state, row.sent_at, row.claimed_until = AlertState.SENT, utcnow(), None
        row.attempts += 1
        row.delivered_to, row.last_error = channels, None


def failed(session: Session, alert_id: int, channels: str, error: str, retry_in: timedelta | None) -> None:
    """A try failed: tried again after `retry_in`, or undeliverable (None) with the error kept."""
    row = session.get(Alert, alert_id)
    if row is None:
        return
    row.attempts += 1
    row.delivered_to, row.last_error, row.claimed_until = channels, error, None
    if retry_in is None:
        row.state = AlertState.UNDELIVERABLE
    else:
        row.next_try_at = utcnow() + retry_in


def recent(session: Session, limit: int = 200, use_cases: Collection[str] | None = None) -> list[Alert]:
    """The newest alerts first, of objects in the places given (None: all; `Alert.use_case` says whose)."""
    query = select(Alert).order_by(col(Alert.id).desc())
    if use_cases is not None:
        named = [col(Alert.key).endswith(f'{alerts.PLACE_MARK}{place}') for place in sorted(use_cases)]
        if DEFAULT_USE_CASE in use_cases:
            named.append(~col(Alert.key).contains(alerts.PLACE_MARK))
        query = query.where(or_(*named)) if named else query.where(false())
    return list(session.exec(query.limit(limit)))
