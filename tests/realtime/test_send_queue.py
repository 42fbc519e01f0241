"""SendQueue (server/realtime/sendqueue.py) behaves as the asyncio.Queue engine.io used to give each
socket, for every call engine.io and the transport make, and holds no storage while idle."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from server.realtime.sendqueue import SendQueue


async def test_items_come_out_in_order_and_a_waiting_get_gets_the_next_put():
    q = SendQueue()
    assert q.empty() and q.qsize() == 0 and not q.full()
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()
    getter = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)  # the getter is now waiting
    await q.put("a")
    q.put_nowait("b")
    assert await getter == "a"
    assert q.qsize() == 1 and q.get_nowait() == "b" and q.empty()


async def test_a_timed_out_get_takes_nothing_and_the_next_waiting_get_is_served():
    q = SendQueue()
    with pytest.raises(asyncio.TimeoutError):  # engine.io's poll: wait_for(queue.get(), ...)
        await asyncio.wait_for(q.get(), 0.01)
    second = asyncio.ensure_future(q.get())
    cancelled = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    q.put_nowait(1)
    assert await second == 1
    assert cancelled.cancelled() and q.empty()
    q.put_nowait(2)  # nothing waits: it stays queued
    assert q.qsize() == 1


async def test_a_get_woken_then_cancelled_passes_the_item_to_the_next_get():
    q = SendQueue()
    first, second = asyncio.ensure_future(q.get()), asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    q.put_nowait("x")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    assert await second == "x"
    assert first.cancelled()


async def test_join_waits_for_every_task_done():
    q = SendQueue()
    await q.join()  # nothing queued: returns at once
    q.put_nowait(1)
    q.put_nowait(2)
    joined = asyncio.ensure_future(q.join())
    q.get_nowait()
    q.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    q.get_nowait()
    q.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError):
        q.task_done()


async def test_an_idle_queue_is_a_fraction_of_an_asyncio_queue():
    def size(make) -> float:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        kept = [make() for _ in range(200)]
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(kept) == 200
        return (after - before) / 200

    q = SendQueue()
    for i in range(3):  # used, then drained: its storage goes with the last item
        q.put_nowait(i)
    while not q.empty():
        q.get_nowait()
        q.task_done()
    assert q._items is None and q._getters is None
    assert size(SendQueue) * 10 < size(asyncio.Queue)
