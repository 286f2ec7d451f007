"""Deterministic SageMaker names for the jobs the portal creates."""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63  # SageMaker's limit for CompilationJobName (pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$)
_INVALID = re.compile(r'[^a-zA-Z0-9-]+')


def _clean(text: str) -> str:
    return _INVALID.sub('-', text).strip('-') or 'x'


def compilation_job_name(training_job: str, target_id: str, attempt: int) -> str:
    """`<training job>-<target>-<attempt>`, shortened with a hash suffix when over 63 characters.

    The same inputs always give the same name, so AWS's ResourceInUse guards against duplicates too.
    """
    if attempt < 1:
        raise ValueError('attempt numbers start at 1')
    tail = f'-{_clean(target_id)}-{attempt}'
    full = f'{_clean(training_job)}{tail}'
    if len(full) <= MAX_NAME:
        return full
    digest = hashlib.sha256(f'{training_job}\0{target_id}'.encode()).hexdigest()[:8]
    keep = MAX_NAME - len(tail) - len(digest) - 1
    if keep < 1:
        raise ValueError(f'target id {target_id!r} is too long for a compilation job name')
    return f'{_clean(training_job)[:keep].rstrip("-")}-{digest}{tail}'
