"""What a user can ask for: each goes domain rule → AWS gateway → store → event, like the sync."""

from __future__ import annotations

import logging

from nicegui import run

from .aws.artifacts import TRAINING_LOG_GROUP, LogRead, LogsGateway
from .aws.clients import AwsClients, AwsProblem, problem_from
from .sync import Sync

log = logging.getLogger(__name__)


class Actions:
    def __init__(self, clients: AwsClients, sync: Sync) -> None:
        self.sync = sync
        self.logs = LogsGateway(clients)

    async def refresh_now(self) -> AwsProblem | None:
        """Run a refresh cycle now (or wait for the one under way); the AWS problem if it failed."""
        return await self.sync.run_once()

    async def training_logs(self, training_job: str) -> LogRead | AwsProblem:
        try:
            result = await run.io_bound(self.logs.job_events, TRAINING_LOG_GROUP, training_job)
        except Exception as error:  # shown to the user with AWS's code and message
            problem = problem_from(error)
            log.info('Reading logs of %s failed: %s', training_job, problem)
            return problem
        return result if result is not None else LogRead([], missing='The portal is shutting down.')
