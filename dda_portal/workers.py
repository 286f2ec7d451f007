"""Thread pools of their own for work a person waits for, apart from NiceGUI's shared one (`run.io_bound`,
which the refresh and the pages' reads of the store use), so that an AWS that does not answer never makes
anyone wait for something else.

- `PageReads`: the reads of AWS that pages make (CloudWatch logs, S3 object sizes, download links, a training
  job's tags) — a few threads, clients with short timeouts (`AwsClients.interactive`) and a deadline per read.
  When AWS hangs, later page reads wait in this pool only, and each answers within its deadline.
- `SIGN_IN`: the password check at sign-in (argon2), never behind anything else.

Their threads are daemon threads: a call AWS never answers neither holds up the portal's exit nor is waited
for at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar, TypeVarTuple

from .aws.clients import AwsClients, problem_from
from .domain.problems import AwsProblem, Problem, Unavailable

log = logging.getLogger(__name__)

T = TypeVar('T')
Ts = TypeVarTuple('Ts')
_Call = tuple[Future[Any], Callable[[], Any]]


class PoolBusy(Exception):
    """As many calls wait already as the pool lets wait."""


class WorkerPool:
    """`workers` daemon threads taking calls in order from one queue where at most `max_waiting` calls wait.

    The threads start on first use; `shutdown` lets them go, and a later use starts new ones (tests start
    the portal many times in one process)."""

    def __init__(self, name: str, workers: int, max_waiting: int = 64) -> None:
        self.name = name
        self.workers = workers
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.waiting = 0  # calls neither started nor cancelled

    def submit(self, call: Callable[[*Ts], T], /, *args: *Ts) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self.waiting >= self.max_waiting:
                raise PoolBusy(f'{self.waiting} calls wait for the {self.workers} threads of {self.name}')
            if not self._threads:
                self._threads = [
                    threading.Thread(
                        target=self._work, args=(self._calls,), name=f'{self.name}-{n}', daemon=True
                    )
                    for n in range(self.workers)
                ]
                for thread in self._threads:
                    thread.start()
            self.waiting += 1
            future.add_done_callback(self._forget_if_cancelled)  # a cancelled call waits no more
            self._calls.put((future, partial(call, *args)))
        return future

    async def run(self, call: Callable[[*Ts], T], /, *args: *Ts) -> T:
        """`call(*args)` in one of the pool's threads, awaited on the event loop."""
        return await asyncio.wrap_future(self.submit(call, *args))

    def shutdown(self) -> None:
        """Cancel the calls still waiting and let the threads go, without waiting for calls under way."""
        with self._lock:
            calls, threads = self._calls, self._threads
            self._calls, self._threads = queue.SimpleQueue(), []
        while True:
            try:
                item = calls.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in threads:
            calls.put(None)  # each thread ends once it is done with the call it may be stuck in

    def _forget_if_cancelled(self, future: Future[Any]) -> None:
        if future.cancelled():  # only a call that has not started can be cancelled
            with self._lock:
                self.waiting -= 1

    def _work(self, calls: queue.SimpleQueue[_Call | None]) -> None:
        while (item := calls.get()) is not None:
            future, call = item
            del item
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while it waited (its deadline passed): counted already
            with self._lock:
                self.waiting -= 1
            try:
                result = call()
            except BaseException as error:  # handed to whoever awaits the call
                future.set_exception(error)
            else:
                future.set_result(result)
            del future, call


class PageReads:
    """Reads of AWS that a page waits for: a pool of their own, and an answer within `deadline` seconds.

    `clients` are the interactive ones (`AwsClients.interactive`: short timeouts, one retry). A read that AWS
    does not answer in time raises `AwsProblem('Timeout', …)`; its thread stays busy until the clients' own
    timeouts end the call, and reads that waited for a thread past their deadline never start.
    """

    def __init__(
        self, clients: AwsClients, *, workers: int = 4, deadline: float = 15.0, max_waiting: int = 32
    ) -> None:
        self.clients = clients
        self.deadline = deadline
        self.pool = WorkerPool('aws-page', workers, max_waiting)

    async def read(self, call: Callable[[*Ts], T], /, *args: *Ts) -> T:
        """`call(*args)` in the pool. Raises AwsProblem for AWS's refusal or silence past the deadline, and
        Unavailable when too many reads wait already or the portal is shutting down; a Problem the call
        raised itself passes through."""
        try:
            future = self.pool.submit(call, *args)
        except PoolBusy:
            raise Unavailable(
                f'{self.pool.waiting} reads of AWS are waiting already (AWS answers slowly or not at all); '
                'try again in a moment.'
            ) from None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.deadline)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not future.cancelled() or (task is not None and task.cancelling()):
                raise  # the page's own task was cancelled (its tab closed)
            raise Unavailable('The portal is shutting down.') from None  # the pool let it go
        except TimeoutError:
            log.info('No answer from AWS within %g s to %s', self.deadline, getattr(call, '__name__', call))
            raise AwsProblem(
                'Timeout', f'AWS did not answer within {self.deadline:g} s; try again in a moment.'
            ) from None
        except Problem:
            raise
        except Exception as error:  # AWS's refusal, a network failure: shown with its code and message
            raise problem_from(error) from error

    def shutdown(self) -> None:
        self.pool.shutdown()


SIGN_IN = WorkerPool('sign-in', 2)  # argon2 costs 64 MiB and ~0.1 s of CPU per check; two at a time
