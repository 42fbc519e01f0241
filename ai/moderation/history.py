"""Per-sender sliding windows for repeated messages and flooding, in bounded memory."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

__all__ = ["SenderHistory"]


class SenderHistory:
    """Recent messages of each sender: (time, fingerprint), newest last.

    Keeps at most `max_events` messages per sender and `max_senders` senders (the least
    recently active are forgotten first), so memory stays bounded whatever the traffic.
    """

    def __init__(self, *, max_senders: int = 10_000, max_events: int = 64) -> None:
        self.max_senders = max_senders
        self.max_events = max_events
        self._events: OrderedDict[str, deque[tuple[float, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def record(
        self, sender: str, fingerprint: int, now: float, *, repeat_window_s: float, flood_window_s: float
    ) -> tuple[int, int]:
        """Record one message; return (identical messages, all messages) in their windows,
        this one included."""
        with self._lock:
            events = self._events.get(sender)
            if events is None:
                events = deque(maxlen=self.max_events)
                self._events[sender] = events
                while len(self._events) > self.max_senders:
                    self._events.popitem(last=False)
            else:
                self._events.move_to_end(sender)
            horizon = now - max(repeat_window_s, flood_window_s)
            while events and events[0][0] < horizon:
                events.popleft()
            repeats = 1 + sum(1 for t, f in events if f == fingerprint and t > now - repeat_window_s)
            recent = 1 + sum(1 for t, _ in events if t > now - flood_window_s)
            events.append((now, fingerprint))
            return repeats, recent

    def forget(self, sender: str) -> None:
        with self._lock:
            self._events.pop(sender, None)
