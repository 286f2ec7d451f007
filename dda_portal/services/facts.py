"""AWS descriptions (DescribeTrainingJob, DescribeCompilationJob, GetComponent) in the portal's words."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..domain import linking
from ..domain.clock import as_utc, utcnow
from ..domain.greengrass import (
    component_state_from_aws,
)
from ..domain.status import (
    CompilationStatus,
    compilation_status_from_aws,
    training_status_from_aws,
)
from ..domain.targets import RecognisedTarget, TargetCatalog
from ..queries.refresh import CompilationJobFacts, TrainingJobFacts
from ..tables import ComponentVersion


def _required_time(value: Any) -> datetime:
    converted = as_utc(value)
    return converted if converted is not None else utcnow()


def training_facts(described: dict[str, Any]) -> TrainingJobFacts:
    name = described['TrainingJobName']
    resources = described.get('ResourceConfig') or {}
    output_path = (described.get('OutputDataConfig') or {}).get('S3OutputPath')
    return TrainingJobFacts(
        name=name,
        arn=described.get('TrainingJobArn', ''),
        status=training_status_from_aws(described.get('TrainingJobStatus')),
        secondary_status=described.get('SecondaryStatus'),
        failure_reason=described.get('FailureReason') or None,
        created_at=_required_time(described.get('CreationTime')),
        started_at=as_utc(described.get('TrainingStartTime')),
        ended_at=as_utc(described.get('TrainingEndTime')),
        last_modified=_required_time(described.get('LastModifiedTime')),
        instance_type=resources.get('InstanceType'),
        instance_count=resources.get('InstanceCount'),
        model_artifact=(described.get('ModelArtifacts') or {}).get('S3ModelArtifacts'),
        output_prefix=linking.output_prefix(output_path, name) if output_path else None,
        billable_seconds=described.get('BillableTimeInSeconds'),
        training_seconds=described.get('TrainingTimeInSeconds'),
    )


def compilation_facts(
    described: dict[str, Any], tags: dict[str, str], catalog: TargetCatalog
) -> CompilationJobFacts:
    status = compilation_status_from_aws(described.get('CompilationJobStatus'))
    target = catalog.recognise(described.get('OutputConfig'))
    tagged_target = tags.get(linking.TAG_TARGET)
    if tagged_target is not None and tagged_target in catalog:
        target = RecognisedTarget(tagged_target, catalog.display_name(tagged_target), True)
    input_config = described.get('InputConfig') or {}
    return CompilationJobFacts(
        name=described['CompilationJobName'],
        arn=described.get('CompilationJobArn', ''),
        status=status,
        failure_reason=described.get('FailureReason') or None,
        created_at=_required_time(described.get('CreationTime')),
        started_at=as_utc(described.get('CompilationStartTime')),
        ended_at=as_utc(described.get('CompilationEndTime')),
        last_modified=_required_time(described.get('LastModifiedTime')),
        # SageMaker fills ModelArtifacts only once the compiled model is written
        artifact=(described.get('ModelArtifacts') or {}).get('S3ModelArtifacts')
        if status is CompilationStatus.COMPLETED
        else None,
        input_uri=input_config.get('S3Uri'),
        framework=input_config.get('Framework'),
        max_runtime_seconds=(described.get('StoppingCondition') or {}).get('MaxRuntimeInSeconds'),
        target_id=target.id,
        target_label=target.label,
        tags=tags,
    )


def component_facts(
    described: dict[str, Any], artifact_uri: str | None, recipe_platforms: str | None = None
) -> ComponentVersion:
    status = described.get('status') or {}
    errors = status.get('errors') or {}
    platforms = described.get('platforms') or [{}]
    return ComponentVersion(
        arn=described['arn'],
        component_name=described.get('componentName', ''),
        component_version=described.get('componentVersion', ''),
        state=component_state_from_aws(status.get('componentState')),
        message=status.get('message') or None,
        errors=json.dumps(errors) if errors else None,
        created_at=as_utc(described.get('creationTimestamp')),
        architecture=((platforms[0] or {}).get('attributes') or {}).get('architecture'),
        artifact_uri=artifact_uri,
        platforms=recipe_platforms,
        origin='portal' if (described.get('tags') or {}).get(linking.TAG_ORIGIN) else 'external',
    )


def artifact_uris(recipe: dict[str, Any]) -> list[str]:
    return [
        uri
        for manifest in recipe.get('Manifests') or []
        for artifact in manifest.get('Artifacts') or []
        if (uri := artifact.get('URI') or artifact.get('Uri'))
    ]


def recipe_platforms(recipe: dict[str, Any] | None) -> str:
    """The recipe's Manifests[].Platform in order, every attribute kept (os, architecture, accelerator,
    jetpack…), as JSON; 'null' when there is no recipe to read (the version is gone)."""
    if recipe is None:
        return 'null'
    manifests = recipe.get('Manifests') or []
    platforms = [
        {str(key): str(value) for key, value in (manifest.get('Platform') or {}).items()}
        for manifest in manifests
        if isinstance(manifest, dict)
    ]
    return json.dumps(platforms)
