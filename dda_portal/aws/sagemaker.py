"""SageMaker: training and compilation jobs, read with paginators."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.exceptions import ClientError

from .clients import AwsClients

PAGE_SIZE = 100  # the maximum SageMaker accepts for these list calls


@dataclass
class Listing:
    """Jobs a listing returned, and AWS's clock when it answered (its first page's HTTP `Date`)."""

    summaries: list[dict[str, Any]]
    aws_time: datetime | None


def aws_time(page: dict[str, Any]) -> datetime | None:
    """The `Date` header of AWS's answer (aware UTC, to the second), None when missing or unreadable."""
    date = ((page.get('ResponseMetadata') or {}).get('HTTPHeaders') or {}).get('date')
    try:
        parsed = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None
    if parsed is None:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class SageMakerGateway:
    def __init__(self, clients: AwsClients) -> None:
        self.client = clients.sagemaker

    def training_jobs_listing(self, after: datetime) -> Listing:
        return self._listing('list_training_jobs', 'TrainingJobSummaries', after)

    def compilation_jobs_listing(self, after: datetime) -> Listing:
        return self._listing('list_compilation_jobs', 'CompilationJobSummaries', after)

    def _listing(self, operation: str, key: str, after: datetime) -> Listing:
        summaries: list[dict[str, Any]] = []
        answered: datetime | None = None
        for number, page in enumerate(self._pages(operation, after)):
            if number == 0:
                answered = aws_time(page)
            summaries += page.get(key, [])
        return Listing(summaries, answered)

    def _pages(self, operation: str, after: datetime) -> Iterator[dict[str, Any]]:
        yield from self.client.get_paginator(operation).paginate(
            LastModifiedTimeAfter=after,
            SortBy='CreationTime',
            SortOrder='Descending',
            PaginationConfig={'PageSize': PAGE_SIZE},
        )

    def describe_training_job(self, name: str) -> dict[str, Any]:
        return dict(self.client.describe_training_job(TrainingJobName=name))

    def describe_compilation_job(self, name: str) -> dict[str, Any] | None:
        """The job's description, or None when SageMaker no longer knows it."""
        try:
            return dict(self.client.describe_compilation_job(CompilationJobName=name))
        except ClientError as error:
            if (
                error.response.get('Error', {}).get('Code') in ('ResourceNotFound', 'ValidationException')
                and 'not find' in str(error.response.get('Error', {}).get('Message', '')).lower()
            ):
                return None
            raise

    def tags(self, arn: str) -> dict[str, str]:
        paginator = self.client.get_paginator('list_tags')
        return {
            tag['Key']: tag['Value']
            for page in paginator.paginate(ResourceArn=arn)
            for tag in page.get('Tags', [])
        }

    def create_compilation_job(
        self,
        name: str,
        role_arn: str,
        input_config: dict[str, Any],
        output_config: dict[str, Any],
        max_runtime_seconds: int,
        tags: dict[str, str],
    ) -> str:
        response = self.client.create_compilation_job(
            CompilationJobName=name,
            RoleArn=role_arn,
            InputConfig=input_config,
            OutputConfig=output_config,
            StoppingCondition={'MaxRuntimeInSeconds': max_runtime_seconds},
            Tags=[{'Key': key, 'Value': value} for key, value in tags.items()],
        )
        return str(response['CompilationJobArn'])

    def stop_compilation_job(self, name: str) -> None:
        self.client.stop_compilation_job(CompilationJobName=name)
