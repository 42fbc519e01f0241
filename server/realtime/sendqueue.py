"""The send queue of one engine.io socket, at a fraction of asyncio.Queue's size.

engine.io gives every socket an `asyncio.Queue` (three deques and an Event: ~3.3 KB), though an
idle websocket's queue is empty nearly all the time (packets are written directly, transport.py).
`SendQueue` keeps the same behaviour for what engine.io and this server call (unbounded: put,
put_nowait, get, get_nowait, task_done, join, qsize, empty, full) in one object with __slots__
whose deques and futures exist only while something is queued or waited for (~100 bytes idle).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class SendQueue:
    """An unbounded FIFO with asyncio.Queue's semantics (task_done/join included), storage made on use."""

    __slots__ = ("_items", "_getters", "_unfinished", "_joiners")
    maxsize = 0

    def __init__(self) -> None:
        self._items: deque | None = None
        self._getters: deque | None = None  # futures of get() calls waiting for an item
        self._unfinished = 0
        self._joiners: list | None = None  # futures of join() calls waiting for task_done()

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return False

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._unfinished += 1
        self._wake_getter()

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None  # an empty deque still holds a 500-byte block
        return item

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = deque()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:  # as asyncio.Queue.get: cancelled (wait_for's timeout) or closed
                getter.cancel()
                if self._getters is not None:
                    try:
                        self._getters.remove(getter)
                    except ValueError:  # already taken off by put_nowait
                        pass
                if self._items and not getter.cancelled():
                    self._wake_getter()  # woken for an item it will not take: pass it on
                raise
        return self.get_nowait()

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners is not None:
            joiners, self._joiners = self._joiners, None
            for fut in joiners:
                if not fut.done():
                    fut.set_result(None)

    async def join(self) -> None:
        if self._unfinished > 0:
            fut = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(fut)
            await fut

    def _wake_getter(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.popleft()
            if not getter.done():
                getter.set_result(None)
                break
        if getters is not None and not getters:
            self._getters = None


def install(eio) -> None:
    """Every engine.io socket of this server gets a SendQueue (engine.io asks `create_queue` for it)."""
    eio.create_queue = SendQueue
