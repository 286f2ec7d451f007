"""Alerts: which transitions are sent (the rules), what each message says, and when a failed send is tried
again. Pure: the store records drafts in the transaction of the change (an outbox), a sender delivers them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from urllib.parse import quote

from .guidance import GuidanceBook

COMPILATION_FAILED = 'compilation-failed'
ALL_TARGETS_COMPILED = 'all-targets-compiled'
PACKAGING_FAILED = 'packaging-failed'
DEVICE_UNHEALTHY = 'device-unhealthy'
KINDS = (COMPILATION_FAILED, ALL_TARGETS_COMPILED, PACKAGING_FAILED, DEVICE_UNHEALTHY)
DEFAULT_RULES = ','.join(KINDS)
MAX_LINE = 300  # a failure reason's first line, cut to this many characters


class AlertState(StrEnum):
    WAITING = 'Waiting'  # not sent yet, or waiting to be tried again
    SENT = 'Sent'
    UNDELIVERABLE = 'Undeliverable'  # every try failed: the last error is kept
    UNKNOWN = 'Unknown'


def parse_rules(text: str) -> frozenset[str]:
    """`compilation-failed,device-unhealthy` (commas or spaces) → the kinds; ValueError names unknown ones."""
    names = [name.strip().lower() for name in text.replace(',', ' ').split() if name.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise ValueError(f'unknown alert rule(s) {", ".join(unknown)}; known: {", ".join(KINDS)}')
    return frozenset(names)


@dataclass(frozen=True)
class AlertPolicy:
    """What the store records: the kinds the rules send, where links point, and the failure guidance."""

    rules: frozenset[str]
    public_url: str
    guidance: GuidanceBook

    def link(self, path: str) -> str:
        return self.public_url.rstrip('/') + path


@dataclass(frozen=True)
class AlertDraft:
    """One message to record: `key` is unique per transition, so it is recorded (and sent) once."""

    key: str
    kind: str
    title: str
    body: str
    link: str


PLACE_MARK = '@'  # a key's place follows it (names AWS allows for jobs, things and components have no '@')


def in_place(draft: AlertDraft, place: str, default: str) -> AlertDraft:
    """The draft of an object of `place` (a use case, with its region when it has several): its key, title
    and link name the place, so the same name in two accounts makes two alerts. The default place's drafts
    stay as they always were (an outbox from before use cases keeps deduplicating)."""
    if place == default:
        return draft
    joiner = '&' if '?' in draft.link else '?'
    link = f'{draft.link}{joiner}use-case={quote(place, safe="")}'
    body = draft.body.replace(f'Open: {draft.link}', f'Use case: {place}\nOpen: {link}')
    return replace(
        draft, key=f'{draft.key}{PLACE_MARK}{place}', title=f'{draft.title} ({place})', body=body, link=link
    )


def place_of_key(key: str, default: str) -> str:
    """The place an alert's key names (in_place), the default one when it names none."""
    return key.rsplit(PLACE_MARK, 1)[1] if PLACE_MARK in key else default


def first_line(text: str | None) -> str:
    line = next((part.strip() for part in (text or '').splitlines() if part.strip()), '')
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + '…'


def job_path(training_job: str | None) -> str:
    return f'/training-jobs/{quote(training_job, safe="")}' if training_job else '/'


def compilation_failed(
    policy: AlertPolicy,
    compilation_job: str,
    training_job: str | None,
    target: str,
    attempt: int,
    reason: str | None,
) -> AlertDraft:
    advice = policy.guidance.for_failure(reason)
    owner = training_job or 'no known training job'
    lines = [
        f'Training job: {owner}',
        f'Target: {target} (attempt {attempt})',
        'State: Failed',
        f'Compilation job: {compilation_job}',
        f'Reason: {first_line(reason) or "SageMaker gave no reason"}',
        f'Guidance: {advice.title}',
    ]
    link = policy.link(job_path(training_job))
    return AlertDraft(
        f'{COMPILATION_FAILED}:{compilation_job}',
        COMPILATION_FAILED,
        f'Compilation failed: {owner} for {target}',
        '\n'.join([*lines, f'Open: {link}']),
        link,
    )


def all_targets_compiled(
    policy: AlertPolicy, training_job: str, attempts: Iterable[tuple[str, str, int]]
) -> AlertDraft:
    """`attempts`: (compilation job, target, attempt number) of the latest attempt of each target."""
    latest = sorted(attempts, key=lambda a: a[1])
    # the same set of completed attempts is one transition, however often it is read again
    fingerprint = hashlib.sha256('\n'.join(sorted(a[0] for a in latest)).encode()).hexdigest()[:16]
    targets = ', '.join(f'{target} (attempt {number})' for _, target, number in latest)
    link = policy.link(job_path(training_job))
    return AlertDraft(
        f'{ALL_TARGETS_COMPILED}:{training_job}:{fingerprint}',
        ALL_TARGETS_COMPILED,
        f'Compiled for every target: {training_job}',
        '\n'.join(
            [
                f'Training job: {training_job}',
                f'Targets: {targets}',
                f'State: Completed ({len(latest)}/{len(latest)} compiled)',
                f'Open: {link}',
            ]
        ),
        link,
    )


def packaging_failed(
    policy: AlertPolicy,
    subject: str,
    component: str,
    training_job: str | None,
    target: str | None,
    reason: str | None,
) -> AlertDraft:
    """`subject`: the compilation job packaged (or the component version's ARN when it is not known)."""
    owner = training_job or 'no known training job'
    link = policy.link(job_path(training_job) + ('?tab=components' if training_job else ''))
    return AlertDraft(
        f'{PACKAGING_FAILED}:{subject}',
        PACKAGING_FAILED,
        f'Packaging failed: {owner} for {target or "unknown target"}',
        '\n'.join(
            [
                f'Training job: {owner}',
                f'Target: {target or "unknown"}',
                'State: Failed',
                f'Component: {component}',
                f'Reason: {first_line(reason) or "Greengrass gave no reason"}',
                f'Open: {link}',
            ]
        ),
        link,
    )


def device_unhealthy(
    policy: AlertPolicy, thing: str, changed_at: str, models: Iterable[tuple[str, str | None, str | None]]
) -> AlertDraft:
    """`models`: (component name and version, training job, target) of each model the device runs."""
    running = sorted(models)
    jobs = sorted({job for _, job, _ in running if job})
    lines = [
        f'Device: {thing}',
        'State: Unhealthy',
        f'Training job: {", ".join(jobs) or "unknown"}',
        *(f'Runs: {component} (target {target or "unknown"})' for component, _, target in running),
    ]
    link = policy.link('/devices')
    return AlertDraft(
        f'{DEVICE_UNHEALTHY}:{thing}:{changed_at}',
        DEVICE_UNHEALTHY,
        f'Device unhealthy: {thing}',
        '\n'.join([*lines, f'Open: {link}']),
        link,
    )


def retry_delay(tries: int, first: float) -> timedelta:
    """How long to wait after the `tries`-th failed try (1, 2, …): `first`, then doubling, at most a day."""
    return timedelta(seconds=min(first * 2 ** (tries - 1), 86_400))
