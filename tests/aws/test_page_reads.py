"""Page reads of AWS against an endpoint that accepts connections and never answers: each read ends with a
Timeout problem within its deadline, and shutting the pool down waits for none of them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.domain.problems import AwsProblem, Unavailable
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import Actions, build
from dda_portal.store import Store
from dda_portal.workers import PageReads


@pytest.fixture
def silent_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """CloudWatch Logs and S3 on a 127.0.0.1 port whose connections the kernel accepts and nobody answers."""
    with socket.create_server(('127.0.0.1', 0), backlog=128) as listener:  # never accept()ed: never read
        url = f'http://127.0.0.1:{listener.getsockname()[1]}'
        for name, value in {
            'AWS_ACCESS_KEY_ID': 'testing',
            'AWS_SECRET_ACCESS_KEY': 'testing',
            'AWS_DEFAULT_REGION': 'us-east-1',
            'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS': url,  # botocore's name for Logs
            'AWS_ENDPOINT_URL_S3': url,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv('AWS_PROFILE', raising=False)
        yield url
    # closing the listener resets the connections, so reads still waiting end at once


def actions_with(database_url: str, reads_deadline: float, workers: int = 4) -> Actions:
    settings = Settings(database_url=database_url, sync_enabled=False)
    store, clients, catalog = Store(database_url), AwsClients(), TargetCatalog.load()
    reads = PageReads(clients.interactive(), workers=workers, deadline=reads_deadline)
    return build(settings, store, clients, catalog, reads=reads).actions


async def test_logs_sizes_and_download_links_that_aws_never_answers_are_timeouts(
    silent_aws: str, database_url: str
) -> None:
    actions = actions_with(database_url, reads_deadline=0.5)
    results = await asyncio.gather(
        actions.training_logs('bottle-caps'),
        actions.compilation_logs('bottle-caps-x86-64-cpu-1'),
        actions.object_sizes(['s3://dda-models/out/bottle-caps/output/model.tar.gz']),
        return_exceptions=True,
    )
    for result in results:
        assert isinstance(result, AwsProblem)
        assert result.code == 'Timeout'
        assert result.message.startswith('AWS did not answer within 0.5 s')
    actions.reads.shutdown()


async def test_shutdown_lets_hung_reads_go_and_cancels_the_waiting_ones(
    silent_aws: str, database_url: str
) -> None:
    actions = actions_with(database_url, reads_deadline=60, workers=1)
    hung = asyncio.create_task(actions.training_logs('under-way'))
    waiting = asyncio.create_task(actions.training_logs('waiting'))
    await asyncio.sleep(0.5)  # the first read is in its thread, stuck in AWS's silence; the second waits
    assert not hung.done() and not waiting.done()
    actions.reads.shutdown()  # returns at once, whatever the stuck thread does
    with pytest.raises(Unavailable, match='shutting down'):
        await asyncio.wait_for(waiting, 5)
    assert not hung.done()  # nobody waited for it
    hung.cancel()
