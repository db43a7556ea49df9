"""Micro-batching of pages across requests.

Requests put their pages on one asyncio queue; a single collector task takes up to ``max_batch``
pages, waiting at most ``max_wait_s`` after the first one for more to arrive, runs the batch in one
worker-thread call and resolves each page's future with its words or its own error. One batch runs
at a time, so while it runs the next one fills up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from app.metrics import Registry

Words = list[dict[str, Any]]
BatchRunner = Callable[[list[Image.Image]], list["Words | Exception"]]


class QueueFull(Exception):
    """More pages are waiting than the service accepts; the caller should retry later."""


@dataclass
class _Pending:
    page: Image.Image
    future: asyncio.Future[Words]
    queued_at: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    def __init__(
        self,
        run_batch: BatchRunner,
        *,
        max_batch: int,
        max_wait_s: float,
        max_queue: int,
        metrics: Registry,
        prefix: str = "papyr_ocr",
    ) -> None:
        self._run_batch = run_batch
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_s)
        self.max_queue = max_queue
        self._metrics = metrics
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{prefix}-batch")
        self._prefix = prefix
        self._queue: asyncio.Queue[_Pending] | None = None
        self._collector: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        metrics.counter(f"{prefix}_batches_total", "Batches run")
        metrics.counter(f"{prefix}_page_errors_total", "Pages whose recognition failed")
        metrics.gauge(f"{prefix}_queue_depth", "Pages waiting for a batch", self.queue_depth)
        self.batch_sizes = metrics.histogram(
            f"{prefix}_batch_size", "Pages per batch", (1, 2, 4, 8, 16, 32, 64, 128, 256)
        )
        self.batch_seconds = metrics.histogram(
            f"{prefix}_batch_seconds", "Time to recognise one batch", (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
        )
        self.queue_seconds = metrics.histogram(
            f"{prefix}_queue_wait_seconds",
            "Time a page waited before its batch ran",
            (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def queue_depth(self) -> float:
        return float(self._queue.qsize()) if self._queue is not None else 0.0

    async def recognize(self, pages: list[Image.Image]) -> list[Words]:
        """Words of each page; raises the first failing page's error (after all pages finished)."""
        queue = self._ensure_running()
        if queue.qsize() + len(pages) > self.max_queue:
            raise QueueFull(f"{queue.qsize()} pages queued")
        loop = asyncio.get_running_loop()
        pending = [_Pending(page, loop.create_future()) for page in pages]
        for item in pending:
            queue.put_nowait(item)
        results = await asyncio.gather(*(item.future for item in pending), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [result for result in results if not isinstance(result, BaseException)]

    def _ensure_running(self) -> asyncio.Queue[_Pending]:
        """The queue and collector live on the running loop (a test client may bring a new loop)."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop or self._collector is None or self._collector.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._collector = loop.create_task(self._collect(self._queue))
        return self._queue

    async def _collect(self, queue: asyncio.Queue[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            deadline = loop.time() + self.max_wait_s
            while len(batch) < self.max_batch:
                if not queue.empty():
                    batch.append(queue.get_nowait())
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                # asyncio.wait + cancel, not wait_for: on 3.11 wait_for can drop an item it got at the deadline.
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter}, timeout=remaining)
                if done:
                    batch.append(getter.result())
                else:
                    getter.cancel()
            await self._execute(batch)

    async def _execute(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        for item in batch:
            self.queue_seconds.observe(started - item.queued_at)
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self._run_batch, [item.page for item in batch])
        except Exception as error:  # the runner itself failed: every page of the batch gets the error
            results = [error] * len(batch)
        self.batch_sizes.observe(len(batch))
        self.batch_seconds.observe(time.perf_counter() - started)
        self._metrics.inc(f"{self._prefix}_batches_total")
        for item, result in zip(batch, results, strict=True):
            if item.future.done():  # the request went away
                continue
            if isinstance(result, Exception):
                self._metrics.inc(f"{self._prefix}_page_errors_total")
                item.future.set_exception(result)
            else:
                item.future.set_result(result)
