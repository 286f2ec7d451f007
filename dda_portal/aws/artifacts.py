"""CloudWatch Logs (training and compilation logs) and S3 (model artifacts)."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from ..domain.logs import LogEvent, LogRead
from .clients import AwsClients

TRAINING_LOG_GROUP = '/aws/sagemaker/TrainingJobs'
COMPILATION_LOG_GROUP = '/aws/sagemaker/CompilationJobs'


class LogsGateway:
    def __init__(self, clients: AwsClients) -> None:
        self.client = clients.logs

    def job_events(self, log_group: str, job_name: str, limit: int | None = 5000) -> LogRead:
        """Events of the job's streams, each from its start, up to `limit` (None: all).

        AWS names a job's streams `<job name>` (the compilation logging reference) or `<job name>/…`
        (`/model-info-extraction`, training's `/algo-1-…`): both are read, and no other job's
        (`job-1` must not show `job-10`), so the prefix is the bare name and the rest is filtered here.
        """
        try:
            streams = [
                name
                for page in self.client.get_paginator('describe_log_streams').paginate(
                    logGroupName=log_group, logStreamNamePrefix=job_name
                )
                for stream in page.get('logStreams', [])
                if (name := stream['logStreamName']) == job_name or name.startswith(f'{job_name}/')
            ]
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return LogRead([], missing=f'The log group {log_group} does not exist yet.')
            raise
        if not streams:
            return LogRead([], missing=f'No log streams for {job_name} in {log_group} yet.')
        events: list[LogEvent] = []
        truncated = False
        for stream in sorted(streams):
            token: str | None = None
            while True:
                if limit is not None and len(events) >= limit:
                    truncated = True
                    break
                kwargs = {'logGroupName': log_group, 'logStreamName': stream, 'startFromHead': True}
                if token:
                    kwargs['nextToken'] = token
                page = self.client.get_log_events(**kwargs)
                events.extend(
                    LogEvent(stream, datetime.fromtimestamp(e['timestamp'] / 1000, UTC), e.get('message', ''))
                    for e in page.get('events', [])
                )
                # GetLogEvents signals the end by returning the token it was given
                if not page.get('events') or page.get('nextForwardToken') == token:
                    break
                token = page.get('nextForwardToken')
        events.sort(key=lambda e: e.timestamp)
        if limit is not None and len(events) > limit:
            truncated, events = True, events[:limit]
        return LogRead(events, truncated=truncated)


class S3Gateway:
    def __init__(self, clients: AwsClients) -> None:
        self.client = clients.s3

    def presigned_download(self, uri: str, expires_seconds: int) -> str:
        """A short-lived GET URL for the object (signing happens locally; no AWS call)."""
        bucket, _, key = uri.removeprefix('s3://').partition('/')
        return str(
            self.client.generate_presigned_url(
                'get_object', Params={'Bucket': bucket, 'Key': key}, ExpiresIn=expires_seconds
            )
        )

    def object_size(self, uri: str) -> int | None:
        """Bytes of the object at an s3:// URI, or None when there is no object there."""
        bucket, _, key = uri.removeprefix('s3://').partition('/')
        if not bucket or not key or key.endswith('/'):
            return None
        try:
            return int(self.client.head_object(Bucket=bucket, Key=key)['ContentLength'])
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') in ('404', 'NoSuchKey', 'NotFound'):
                return None
            raise
