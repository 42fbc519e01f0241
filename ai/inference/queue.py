"""The bounded, prioritised request queue shared by every model.

The asyncio side puts requests in; one worker per model takes batches out. A single lock guards
the whole queue and is only ever held for bookkeeping (never during a forward pass), so the event
loop never waits on a model. Results go back through `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Any

from . import metrics
from .errors import DeadlineExceeded, InferenceError, Overloaded
from .spec import Priority

_seq = itertools.count()


def _settle_future(future: asyncio.Future, value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class Request:
    """One caller's request: what to compute, how urgent, and the future its caller awaits."""

    __slots__ = (
        "model", "op", "payload", "params", "group", "size", "priority", "deadline_at", "loop", "future",
        "seq", "enqueued", "taken_at", "state", "abandoned", "task", "timer",
    )

    def __init__(
        self, *, model: str, op: str, payload: Any, params: dict, group: Hashable, size: int,
        priority: Priority, deadline_at: float | None, loop: asyncio.AbstractEventLoop, future: asyncio.Future,
    ) -> None:
        self.model = model
        self.op = op
        self.payload = payload
        self.params = params
        self.group = group
        self.size = max(1, size)
        self.priority = Priority(priority)
        self.deadline_at = deadline_at  # time.monotonic() based
        self.loop = loop
        self.future = future
        self.seq = next(_seq)
        self.enqueued = time.monotonic()
        self.taken_at: float | None = None
        self.state = "new"  # new -> queued -> running -> done
        self.abandoned = False  # the caller no longer waits (cancelled, deadline): stop work on it
        self.task: asyncio.Task | None = None  # remote backend: the HTTP call in flight
        self.timer: asyncio.TimerHandle | None = None

    def expired(self, now: float) -> bool:
        return self.deadline_at is not None and now >= self.deadline_at

    def resolve(self, value: Any) -> None:
        """Deliver a result (any thread)."""
        self._settle(value, None)

    def fail(self, error: BaseException) -> None:
        """Deliver an error (any thread)."""
        self._settle(None, error)

    def _settle(self, value: Any, error: BaseException | None) -> None:
        self.state = "done"
        try:
            self.loop.call_soon_threadsafe(_settle_future, self.future, value, error)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def __repr__(self) -> str:
        return f"<Request {self.model}/{self.op} p{int(self.priority)} #{self.seq} {self.state}>"


class _ModelLanes:
    def __init__(self, name: str, lock: threading.Lock) -> None:
        self.name = name
        self.lanes: list[deque[Request]] = [deque() for _ in Priority]
        self.cond = threading.Condition(lock)

    def __len__(self) -> int:
        return sum(len(lane) for lane in self.lanes)

    def iter_by_priority(self):
        for lane in self.lanes:
            yield from lane


class RequestQueue:
    """Per-model priority lanes under one global bound (`max_queue` waiting requests in all)."""

    def __init__(self, max_queue: int = 256) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be >= 1")
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._models: dict[str, _ModelLanes] = {}
        self._size = 0
        self.closed = False

    def add_model(self, name: str) -> None:
        with self._lock:
            self._models.setdefault(name, _ModelLanes(name, self._lock))
            for p in Priority:
                metrics.QUEUE_DEPTH.labels(name, p.name.lower()).set(0)

    # ---- asyncio side -------------------------------------------------------------------------

    def put(self, req: Request) -> None:
        """Queue a request; when full, shed the newest lowest-priority waiting request below it, or raise Overloaded."""
        victim = None
        with self._lock:
            if self.closed:
                raise InferenceError("inference service is stopped")
            lanes = self._models[req.model]
            if self._size >= self.max_queue:
                victim = self._find_victim_locked(req.priority)
                if victim is None:
                    raise Overloaded(
                        f"inference queue full ({self.max_queue} waiting); {req.priority.name} request refused"
                    )
                self._remove_locked(victim)
            req.state = "queued"
            lanes.lanes[req.priority].append(req)
            self._size += 1
            self._gauge_locked(lanes, req.priority)
            lanes.cond.notify()
        if victim is not None:
            metrics.SHED.labels(victim.model, victim.priority.name.lower()).inc()
            victim.fail(Overloaded(
                f"inference queue full ({self.max_queue} waiting); {victim.priority.name} request shed for "
                f"a {req.priority.name} one"
            ))

    def remove(self, req: Request) -> bool:
        """Take a still-waiting request out (cancelled or expired); False if a worker already has it."""
        with self._lock:
            if req.state != "queued":
                return False
            self._remove_locked(req)
            return True

    def depth(self) -> dict[Priority, int]:
        with self._lock:
            out = {p: 0 for p in Priority}
            for lanes in self._models.values():
                for p in Priority:
                    out[p] += len(lanes.lanes[p])
            return out

    def pending(self, model: str | None = None) -> int:
        with self._lock:
            if model is None:
                return self._size
            return len(self._models[model])

    def close(self) -> list[Request]:
        """Refuse new work, wake every worker, and hand back what was still waiting."""
        with self._lock:
            self.closed = True
            left: list[Request] = []
            for lanes in self._models.values():
                for p in Priority:
                    left.extend(lanes.lanes[p])
                    lanes.lanes[p].clear()
                    self._gauge_locked(lanes, p)
                lanes.cond.notify_all()
            for req in left:
                req.state = "done"
            self._size = 0
            return left

    # ---- worker side --------------------------------------------------------------------------

    def take(
        self, model: str, max_items: int, max_wait_s: float, *, block: bool = True,
        group: Hashable | None = None,
    ) -> list[Request]:
        """Take the next batch for `model`: compatible requests (same group as the most urgent one),
        highest priority first, once `max_items` are waiting or the oldest has waited `max_wait_s`.
        With block=False, take what is there now (possibly nothing). Returns [] once closed."""
        lanes = self._models[model]
        with lanes.cond:
            while True:
                if self.closed:
                    return []
                now = time.monotonic()
                next_deadline = self._drop_expired_locked(lanes, now)
                batch, items = [], 0
                wanted = group
                for req in lanes.iter_by_priority():
                    if wanted is None:
                        wanted = req.group
                    elif req.group != wanted:
                        continue
                    if batch and items + req.size > max_items:
                        items = max_items  # full: the next one does not fit
                        break
                    batch.append(req)
                    items += req.size
                    if items >= max_items:
                        break
                if batch:
                    ready_at = min(r.enqueued for r in batch) + max_wait_s
                    if items >= max_items or not block or now >= ready_at:
                        self._take_locked(lanes, batch, now)
                        return batch
                    timeout = ready_at - now
                elif not block:
                    return []
                else:
                    timeout = None
                if next_deadline is not None:
                    timeout = next_deadline - now if timeout is None else min(timeout, next_deadline - now)
                lanes.cond.wait(timeout=None if timeout is None else max(timeout, 0.0005))

    # ---- internals (lock held) ----------------------------------------------------------------

    def _take_locked(self, lanes: _ModelLanes, batch: list[Request], now: float) -> None:
        touched = set()
        for req in batch:
            lanes.lanes[req.priority].remove(req)
            req.state = "running"
            req.taken_at = now
            touched.add(req.priority)
            metrics.QUEUE_WAIT.labels(req.model, req.priority.name.lower()).observe(now - req.enqueued)
        self._size -= len(batch)
        for p in touched:
            self._gauge_locked(lanes, p)

    def _drop_expired_locked(self, lanes: _ModelLanes, now: float) -> float | None:
        """Fail waiting requests whose deadline passed; return the earliest deadline still ahead."""
        earliest = None
        expired = []
        for req in lanes.iter_by_priority():
            if req.deadline_at is None:
                continue
            if req.deadline_at <= now:
                expired.append(req)
            elif earliest is None or req.deadline_at < earliest:
                earliest = req.deadline_at
        for req in expired:
            self._remove_locked(req)
            metrics.EXPIRED.labels(req.model, req.priority.name.lower()).inc()
            req.fail(DeadlineExceeded(
                f"model {req.model!r}: deadline passed after {now - req.enqueued:.3f}s in the queue; not computed"
            ))
        return earliest

    def _find_victim_locked(self, priority: Priority) -> Request | None:
        for p in sorted(Priority, reverse=True):
            if p <= priority:
                return None
            newest = None
            for lanes in self._models.values():
                lane = lanes.lanes[p]
                if lane and (newest is None or lane[-1].seq > newest.seq):
                    newest = lane[-1]
            if newest is not None:
                return newest
        return None

    def _remove_locked(self, req: Request) -> None:
        lanes = self._models[req.model]
        lanes.lanes[req.priority].remove(req)
        req.state = "done"
        self._size -= 1
        self._gauge_locked(lanes, req.priority)

    @staticmethod
    def _gauge_locked(lanes: _ModelLanes, priority: Priority) -> None:
        metrics.QUEUE_DEPTH.labels(lanes.name, priority.name.lower()).set(len(lanes.lanes[priority]))
