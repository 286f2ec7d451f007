"""Which training job a compilation job belongs to, including jobs the portal did not create."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

TAG_TRAINING_JOB = 'dda-portal:training-job'
TAG_TARGET = 'dda-portal:target'
TAG_ORIGIN = 'dda-portal:origin'


class TrainingJobLookup(Protocol):
    """Point look-ups over the known training jobs (each answered by an index, not a scan)."""

    def training_job_exists(self, name: str) -> bool: ...

    def training_job_by_model_artifact(self, s3_uri: str) -> str | None: ...

    def training_job_by_output_prefix(self, s3_prefix: str) -> str | None: ...


def output_prefix(s3_output_path: str, training_job_name: str) -> str:
    """Where SageMaker writes a training job's output: <S3OutputPath>/<job name>/."""
    return f'{s3_output_path.rstrip("/")}/{training_job_name}/'


def owner_of(
    compilation_job_name: str,
    tags: Mapping[str, str],
    input_s3_uri: str | None,
    known: TrainingJobLookup,
) -> str | None:
    """The training job a compilation job belongs to, by tag, then input S3 URI, then name prefix."""
    tagged = tags.get(TAG_TRAINING_JOB)
    if tagged and known.training_job_exists(tagged):
        return tagged
    if input_s3_uri:
        by_artifact = known.training_job_by_model_artifact(input_s3_uri)
        if by_artifact:
            return by_artifact
        # every "folder" of the URI, deepest first: s3://b/out/job/output/ then s3://b/out/job/ ...
        cut = len(input_s3_uri)
        while (cut := input_s3_uri.rfind('/', 0, cut)) > len('s3://'):
            owner = known.training_job_by_output_prefix(input_s3_uri[: cut + 1])
            if owner:
                return owner
    # longest known training-job name that, followed by '-', starts the compilation job's name
    cut = len(compilation_job_name)
    while (cut := compilation_job_name.rfind('-', 0, cut)) > 0:
        candidate = compilation_job_name[:cut]
        if known.training_job_exists(candidate):
            return candidate
    return None
