"""A service's background work in one place: fire-and-forget tasks (`spawn`), periodic jobs
(`every`), a bounded wait for what is in flight (`drain`), an unbounded one (`settled`: a barrier)
and `stop`. Every failure is logged the same way: "<owner>: <what> failed" with its traceback;
nothing is lost silently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("server.background")


class Background:
    def __init__(self, owner: str):
        self.owner = owner
        self._tasks: set[asyncio.Task] = set()  # spawned, kept referenced until done
        self._loops: list[asyncio.Task] = []

    def __len__(self) -> int:
        """Spawned tasks still running."""
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str = "background task") -> asyncio.Task:
        """Run `coro` without waiting for it; its failure is logged."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("%s: %s failed", self.owner, what, exc_info=t.exception())

        task.add_done_callback(done)
        return task

    def every(self, interval_s: float | Callable[[], float], job: Callable[[], Awaitable[Any]], what: str) -> asyncio.Task:
        """Run `job()` every `interval_s` seconds (the first run after one interval) until `stop`;
        a failed run is logged and the next one comes on time."""
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s() if callable(interval_s) else interval_s)
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: %s failed", self.owner, what)

        task = asyncio.get_running_loop().create_task(loop(), name=f"{self.owner}: {what}")
        self._loops.append(task)
        return task

    def loop(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task:
        """A long-running loop of the owner's own (a tick with its own timing), stopped by `stop`."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}: {what}")
        self._loops.append(task)
        return task

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` s for the spawned tasks in flight (shutdown: let saves finish)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def settled(self) -> None:
        """Wait until every task spawned before this call has finished (the set is the one `spawn` keeps
        anyway: nothing is added to the hot path). Tasks spawned after the call are not waited for."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def stop(self) -> None:
        """Cancel the periodic jobs and loops (spawned tasks are left to `drain`)."""
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops.clear()
