"""Group commit: concurrent inbound events are written by ONE thread, many per transaction.

Fifty webhook requests that each ran their own write transaction in a worker thread queued for
one write lock (SQLite allows one writer) and fought over the GIL, and every event paid for its
own BEGIN IMMEDIATE and COMMIT. Here a single writer thread takes whatever has queued up, hands
it to the service as one batch (one transaction, a savepoint per event, see
``Service.handle_batch``) and resolves each caller's future only after that commit, so an
adapter still answers 2xx only for a committed event.

Events are taken in the order they were submitted; the service handles a batch in that order,
so a chat's messages keep their order and each sees the effects of the ones before it.
The thread starts on the first event and ends after a quiet spell, so a Service that never
receives anything (tests, CLI commands) owns no thread.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
Item = TypeVar("Item")
MAX_BATCH = 64          # bounds one transaction's length (and so the wait of other writers)
IDLE_SECONDS = 5.0      # the writer thread ends after this long without work


class GroupCommit(Generic[Item]):
    """Queue items from any thread; one writer thread runs ``handle_batch`` on them, in order.

    ``handle_batch`` returns one outcome per item: a value, or an exception that the item's
    caller gets raised. An exception from ``handle_batch`` itself fails the whole batch.
    """

    def __init__(self, handle_batch: Callable[[Sequence[Item]], Sequence[Any]], *,
                 max_batch: int = MAX_BATCH, idle_seconds: float = IDLE_SECONDS, name: str = "danvan-writer") -> None:
        self._handle_batch = handle_batch
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Item, Future[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0            # counters for benchmarks and tests
        self.items = 0

    def submit(self, item: Item) -> Future[Any]:
        """Queue one item; the future resolves after the transaction that handled it committed."""
        future: Future[Any] = Future()
        with self._lock:            # put and the thread check together: an exiting writer cannot miss it
            self._queue.put((item, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        return future

    async def run(self, item: Item) -> Any:
        """Submit from the event loop and wait for the outcome without blocking the loop."""
        return await asyncio.wrap_future(self.submit(item))

    def _next_batch(self) -> list[tuple[Item, Future[Any]]] | None:
        try:
            first = self._queue.get(timeout=self.idle_seconds)
        except queue.Empty:
            with self._lock:
                if self._queue.empty():
                    self._thread = None
                    return None
            first = self._queue.get()
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                # A caller that gave up (its request was cancelled) before its turn is left out: it
                # was never answered, so not handling it is right; the rest can no longer be cancelled.
                batch = [(item, future) for item, future in batch if future.set_running_or_notify_cancel()]
                if batch:
                    self._run_batch(batch)
        except BaseException:
            with self._lock:        # never leave a dead writer registered: the next submit starts one
                self._thread = None
            log.exception("group commit writer stopped; a new one starts with the next event")
            raise

    def _run_batch(self, batch: list[tuple[Item, Future[Any]]]) -> None:
        items = [item for item, _ in batch]
        try:
            outcomes = list(self._handle_batch(items))
            if len(outcomes) != len(items):
                raise RuntimeError("handle_batch returned a wrong number of outcomes")
        except BaseException as exc:  # noqa: BLE001 - every waiting caller must hear about it
            outcomes = [exc] * len(items)
        self.batches += 1
        self.items += len(items)
        for (_, future), outcome in zip(batch, outcomes):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
