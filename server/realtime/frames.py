"""Wire 2: one compact `world:frame` per client per tick, with what is due to that client only.

A connection that joined a room with `"wire": 2` gets, instead of the room's `world:tick`, one
frame per tick (docs/realtime.md, "Wire 2"):

    42["world:frame",{"room":"plaza","t":1765000000.1,"m":[3,1050,425,7,1100,400],"e":[3,50],
                      "f":[...],"a":[[12,{"ok":true,"x":10.5,"y":4.25}]]}]

- `m`: the tick's moves as flat triples `n, x, y` (`n`: the body's number in this room on this
  node, given in `presence:join` and the join snapshot as `"n"`; positions in whole hundredths of
  a tile: 1050 is 10.5, the room's 1/100 as an integer, no decimal point to write or parse);
- `e`: `n, ms` pairs: the `t` a move carried, echoed when the body arrived at that move's target, as
  the whole milliseconds from it to the frame's `t` (`t = frame.t - ms / 1000`; 3 bytes where the
  time itself was 14);
- `f`: in rooms with interest management, every few ticks, where the far bodies (outside the
  client's area) moved since the last `f`: those in its far view each time, the whole room's now and
  then; flat triples like `m`;
- `a`: the replies to this client's `s`-tagged events since its last frame (`[s, reply]`; see
  `Hub.on(fold=True)`): the move acks, folded into the frame instead of a frame each.

Interest management (`Interest`): the room is cut into square cells; a client's area is the cells
its view (centred on its avatar) plus a margin touches from anywhere in its block (2x2 cells). Each
tick's moves are bucketed by cell and encoded once per cell; clients whose areas are the same cells
share one encoded frame. Far bodies come in `f`: every `far_every` ticks those in the client's far
view (a larger box, rounded out to blocks), every `far_all_every` ticks the whole room's. Presence
(joins, leaves, chat, emotes) still reaches the whole room.
"""

from __future__ import annotations

import json
import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace

from engineio import packet as eio_packet

from server.realtime.fanout import NAMESPACE, Fanout
from server.realtime.hub import Connection, Hub, room_channel
from server.realtime.transport import write_frame, ws_frame, ws_header


@dataclass(frozen=True, slots=True)
class Interest:
    """Area of interest of a room: view (tiles, centred on the avatar) + margin, rounded out to cells."""

    view_w: float = 30.0
    view_h: float = 20.0
    margin: float = 4.0
    cell: float = 10.0
    far_every: int = 10  # ticks between far updates (`f`) of the far view; 0: far bodies are presence only
    far_step: float = 1.0  # a far body goes in `f` once it is this far (tiles, either axis) from where `f` last put it
    far_w: float = 100.0  # the far view (tiles, centred on the avatar): its bodies come every `far_every` ticks
    far_h: float = 60.0
    far_all_every: int = 100  # ticks between the whole room's far updates; 0: never (the far view only)

    @property
    def block(self) -> float:
        """The coarse grid (twice a cell): viewers in one block share an area, and far views are cut in it."""
        return 2 * self.cell

    def cells(self, x: float, y: float) -> tuple[int, int, int, int]:
        """(cx0, cx1, cy0, cy1): the area of a viewer at (x, y), inclusive: the cells that the view plus margin
        touches from anywhere in the viewer's block, so that the viewers in one block share one area (and
        its encoded frame) instead of one each."""
        hw, hh, c, b = self.view_w / 2 + self.margin, self.view_h / 2 + self.margin, self.cell, self.block
        bx, by = x // b * b, y // b * b
        return int((bx - hw) // c), -int((bx + b + hw) // -c) - 1, int((by - hh) // c), -int((by + b + hh) // -c) - 1

    def keep_box(self, area: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1): where a viewer may stand and keep `area` (x0 <= x < x1, y0 <= y < y1): while
        the area covers the view plus half the margin around it, so one stepping to and fro over a block
        edge does not flip it."""
        hw, hh, c = self.view_w / 2 + self.margin / 2, self.view_h / 2 + self.margin / 2, self.cell
        cx0, cx1, cy0, cy1 = area
        return cx0 * c + hw, (cx1 + 1) * c - hw, cy0 * c + hh, (cy1 + 1) * c - hh

    def far_cells(self, x: float, y: float) -> tuple[int, int, int, int]:
        """The far view's blocks around (x, y), inclusive."""
        hw, hh, b = self.far_w / 2, self.far_h / 2, self.block
        return int((x - hw) // b), int((x + hw) // b), int((y - hh) // b), int((y + hh) // b)


_compact = json.JSONEncoder(separators=(",", ":")).encode  # one encoder (json.dumps with separators builds one per call)


def _n(v: float) -> str:
    """A position on the wire: whole hundredths of a tile (the room keeps positions to 1/100)."""
    return str(math.floor(v * 100 + 0.5))


ECHO_MS_MAX = 2**53  # beyond this an echo (ms) would not be exact in a JS number: it is left out


def _echo(n: int, t_frame: float, t: float) -> str | None:
    """An `e` pair: the move's `t` as the milliseconds from it to the frame's `t` (both are ms-rounded)."""
    ms = (t_frame - t) * 1000
    return f"{n},{round(ms)}" if -ECHO_MS_MAX < ms < ECHO_MS_MAX else None


class _Far:
    """One interest-managed room's far updates: which bodies are listed, and where each one is now.

    A body is listed when it has gone `step` tiles from where it was last listed, or when it has come to
    rest (no move for `every` ticks) since a move inside that dead band. A client's `f` carries every body
    listed since its last one (the last `every` ticks for its far view, `every_all` for the whole room),
    at its latest position, so it is never older than the `m` of the same frame."""

    __slots__ = ("every", "keep", "listed", "cur", "at", "moved")

    def __init__(self, every: int, every_all: int = 0, old: _Far | None = None) -> None:
        self.every = every
        self.keep = max(every, every_all)  # how long a listing is wanted
        self.listed: dict[int, int] = old.listed if old else {}  # n -> the tick it was last listed
        self.cur: dict[int, tuple[str, float, float]] = old.cur if old else {}  # n -> ("n,x,y", x, y), every move
        self.at: dict[int, tuple[float, float]] = old.at if old else {}  # n -> where it was last listed
        self.moved: dict[int, int] = old.moved if old else {}  # n -> tick of its last move inside the dead band

    def start(self, tick_no: int) -> None:
        """A new tick: the bodies that have come to rest since a move inside the band are listed."""
        rested = [n for n, t in self.moved.items() if t <= tick_no - self.every]
        for n in rested:
            del self.moved[n]
            cur = self.cur.get(n)
            if cur is not None:
                self.listed[n] = tick_no
                self.at[n] = (cur[1], cur[2])

    def moved_to(self, n: int, entry: str, x: float, y: float, step: float, tick_no: int) -> None:
        self.cur[n] = (entry, x, y)
        was = self.at.get(n)
        if was is None or abs(x - was[0]) >= step or abs(y - was[1]) >= step:
            self.listed[n] = tick_no
            self.at[n] = (x, y)
            self.moved.pop(n, None)
        else:
            self.moved[n] = tick_no

    def text(self, after: int) -> str:
        """The `f` part of the whole room: every body listed after tick `after`, at its latest position."""
        cur = self.cur
        return ',"f":[' + ",".join(cur[n][0] for n, t in self.listed.items() if t > after and n in cur) + "]"

    def rows(self, after: int, cell: float) -> _Rows:
        """The bodies listed after tick `after`, at their latest positions, laid out by cells of `cell` tiles."""
        cells: dict[tuple[int, int], tuple[list[str], list[str]]] = {}
        cur = self.cur
        for n, t in self.listed.items():
            if t > after and (c := cur.get(n)) is not None:
                key = (int(c[1] // cell), int(c[2] // cell))
                bucket = cells.get(key)
                if bucket is None:
                    bucket = cells[key] = ([], [])
                bucket[0].append(c[0])
        return _Rows(cells)

    def pending(self, tick_no: int) -> bool:
        """Whether some client's next `f` still has something to carry."""
        return bool(self.moved) or any(t > tick_no - self.keep for t in self.listed.values())

    def prune(self, numbers: set[int], tick_no: int) -> None:
        """Forget bodies no longer in the room (numbers are not reused), and listings no client still wants."""
        self.cur = {n: v for n, v in self.cur.items() if n in numbers}
        self.at = {n: v for n, v in self.at.items() if n in numbers}
        self.moved = {n: v for n, v in self.moved.items() if n in numbers}
        self.listed = {n: t for n, t in self.listed.items() if n in numbers and t > tick_no - self.keep}

    def unsettled(self) -> list[str]:
        """Bodies whose last moves stayed inside the band, where they are now: what far clients lack."""
        return [self.cur[n][0] for n in self.moved if n in self.cur]


class _Rows:
    """A tick's entries by cell, for areas: an area's entries are those of a band of columns
    (cx0..cx1) over a run of rows (cy0..cy1). Each band met this tick is cut once, a slice of every
    row's text (two bisects); an area is then one slice of its band's list of rows, joined."""

    __slots__ = ("rows", "y0", "height", "bands", "all")

    def __init__(self, cells: dict[tuple[int, int], tuple[list[str], list[str]]]) -> None:
        by_row: dict[int, list] = {}
        for (cx, cy), (m, e) in cells.items():
            row = by_row.get(cy)
            if row is None:
                row = by_row[cy] = []
            row.append((cx, ",".join(m) + ",", ",".join(e) + "," if e else ""))
        # cy -> (cxs, m offsets, m text, e offsets, e text): entries end with a comma, dropped at the end
        self.rows: dict[int, tuple[list[int], list[int], str, list[int], str]] = {}
        for cy, items in by_row.items():
            items.sort()
            mo, eo, ma, ea = [0], [0], 0, 0
            for _, m, e in items:
                ma += len(m)
                ea += len(e)
                mo.append(ma)
                eo.append(ea)
            self.rows[cy] = ([it[0] for it in items], mo, "".join(it[1] for it in items),
                             eo, "".join(it[2] for it in items))
        self.y0 = min(self.rows, default=0)
        self.height = max(self.rows, default=0) - self.y0 + 1
        self.bands: dict[tuple[int, int], tuple[list[str], list[str]]] = {}
        self.all: tuple[str, str] | None = None  # the whole room's text, joined only if a viewer has no position

    def text(self, area: tuple[int, int, int, int] | None) -> tuple[str, str]:
        """The `m` and `e` entries (comma-separated) of the cells of `area`; None: the whole room."""
        if area is None:
            if self.all is None:
                self.all = ("".join(r[2] for r in self.rows.values())[:-1], "".join(r[4] for r in self.rows.values())[:-1])
            return self.all
        cx0, cx1, cy0, cy1 = area
        band = self.bands.get((cx0, cx1))
        if band is None:
            band = self.bands[(cx0, cx1)] = self._band(cx0, cx1)
        lo, hi = cy0 - self.y0, cy1 - self.y0 + 1
        if lo < 0:
            lo = 0
        if hi <= lo:
            return "", ""
        return "".join(band[0][lo:hi])[:-1], "".join(band[1][lo:hi])[:-1]

    def _band(self, cx0: int, cx1: int) -> tuple[list[str], list[str]]:
        ms, es, y0 = [""] * self.height, [""] * self.height, self.y0
        for cy, (cxs, mo, mt, eo, et) in self.rows.items():
            i, j = bisect_left(cxs, cx0), bisect_right(cxs, cx1)
            if i < j:
                ms[cy - y0] = mt[mo[i]:mo[j]]
                es[cy - y0] = et[eo[i]:eo[j]]
        return ms, es


class Frames:
    """Builds and sends the wire-2 frames of this node's connections (one `Frames` per node)."""

    def __init__(self, hub: Hub, fanout: Fanout, mirror, interest_of: Callable[[str], Interest | None]):
        self.hub = hub
        self.fanout = fanout
        self.mirror = mirror  # numbers (`numbering`, `number`) and positions (`position`) of bodies
        self.interest_of = interest_of
        self._ticks: dict[str, int] = {}
        self._far: dict[str, _Far] = {}  # interest-managed rooms' far updates
        self._ticked: set[str] = set()  # rooms that had a tick since the last flush

    def members(self, room: str) -> list[tuple[str, str, Connection]]:
        """This node's wire-2 connections in the room: (sid, eio_sid, conn)."""
        ns = self.fanout.sio.manager.rooms.get(NAMESPACE)
        chan = ns.get(room_channel(room)) if ns else None
        if not chan:
            return []
        conns = self.hub.connections
        out = []
        for sid, eio_sid in chan.items():
            conn = conns.get(sid)
            if conn is not None and conn.wire == 2:
                out.append((sid, eio_sid, conn))
        return out

    def presence(self, room: str, data: dict, skip_sid: str | None = None) -> set[str]:
        """presence:join to the room's wire-2 connections, with the body's number (`n`); returns their sids."""
        members = [m for m in self.members(room) if m[0] != skip_sid]
        if members:
            pkt = self.fanout.packet("presence:join", {**data, "n": self.mirror.number(room, data["id"])})
            for _, eio_sid, _ in members:
                self._send(eio_sid, pkt)
        return {m[0] for m in members}

    # -- a tick -------------------------------------------------------------------------------
    def tick(self, room: str, data: dict, skip_sid: str | None = None) -> set[str]:
        """Send this tick's frames to the room's wire-2 connections here; returns their sids."""
        tick_no = self._ticks[room] = self._ticks.get(room, 0) + 1
        self._ticked.add(room)
        cfg = self.interest_of(room)
        members = self.members(room)
        fs = None
        settle: list[str] = []
        if cfg is not None and cfg.far_every:
            fs = self._far.get(room)
            if fs is None or fs.every != cfg.far_every or fs.keep != max(cfg.far_every, cfg.far_all_every):
                fs = self._far[room] = _Far(cfg.far_every, cfg.far_all_every, fs)
            fs.start(tick_no)
            if tick_no % 100 == 0:
                fs.prune(set(self.mirror.numbering(room).values()), tick_no)
        elif room in self._far:
            # far updates end here: where bodies stand that `f` had not caught up with goes to everyone once
            settle = self._far.pop(room).unsettled() if cfg is None else []
        if not members:
            return set()
        nmap = self.mirror.numbering(room)
        number = self.mirror.number
        moves = data.get("moves") or ()
        t_frame = data.get("t") or 0.0
        head = f'2["world:frame",{{"room":{json.dumps(room)},"t":{t_frame!r},'
        served: set[str] = set()
        if cfg is None:
            m, e = list(settle), []
            for mv in moves:
                n = nmap.get(mv[0]) or number(room, mv[0])
                m.append(f"{n},{_n(mv[1])},{_n(mv[2])}")
                if len(mv) > 3 and (echo := _echo(n, t_frame, mv[3])) is not None:
                    e.append(echo)
            body = head + '"m":[' + ",".join(m) + '],"e":[' + ",".join(e) + "]"
            shared = frame = None
            sockets, push = self.fanout.sio.eio.sockets, self.fanout.push
            for sid, eio_sid, conn in members:
                if sid == skip_sid:
                    continue
                served.add(sid)
                if conn.acks:
                    self._send(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, data=body + self._acks(conn) + "}]"))
                    continue
                if shared is None:
                    shared = eio_packet.Packet(eio_packet.MESSAGE, data=body + "}]")
                    frame = ws_frame(shared)
                # the room's one frame to each client: written straight out (one call), else push's queue and rules
                sock = sockets.get(eio_sid)
                if sock is not None and not write_frame(sock, frame):
                    push(eio_sid, sock, [shared])
            return served
        # Interest management: moves bucketed by cell, encoded once per cell.
        cell = cfg.cell
        cells: dict[tuple[int, int], tuple[list[str], list[str]]] = {}  # cell -> (m entries, e pairs)
        step = cfg.far_step
        moved_now: set[int] = set()
        for mv in moves:
            n = nmap.get(mv[0]) or number(room, mv[0])
            x, y = mv[1], mv[2]
            key = (int(x // cell), int(y // cell))
            entry = f"{n},{_n(x)},{_n(y)}"
            bucket = cells.get(key)
            if bucket is None:
                bucket = cells[key] = ([], [])
            bucket[0].append(entry)
            moved_now.add(n)
            if len(mv) > 3 and (echo := _echo(n, t_frame, mv[3])) is not None:
                bucket[1].append(echo)
            if fs is not None:  # dead band: `f` lists a body when it has gone `step` tiles, or at rest
                fs.moved_to(n, entry, x, y, step, tick_no)
        rows = _Rows(cells)
        areas: dict[tuple | None, list] = {}  # cells of an area -> [frame body, websocket frame, "4" + body as bytes]
        far_every, far_all = cfg.far_every, cfg.far_all_every
        far_phase = tick_no % far_every if far_every else -1
        all_phase = tick_no % far_all if far_every and far_all else -1
        whole_b = None  # this tick's far part of the whole room, encoded once for every client due for it
        ring = None  # the far view's listed bodies by (larger) cell, laid out when a client is first due for it
        ring_b: dict[tuple | None, bytes] = {}  # far-view cells -> their far part, encoded once
        views: dict[tuple[float, float], Interest] = {}  # a view clients said they have -> the room's Interest for it
        occupants = self.mirror.rooms.get(room) or {}  # the mirror's bodies: where each one is now
        index = None  # cell -> entries of every body in the room, built when someone's area moved
        sockets, push = self.fanout.sio.eio.sockets, self.fanout.push
        for sid, eio_sid, conn in members:
            if sid == skip_sid:
                continue
            served.add(sid)
            p = occupants.get(conn.uid)
            view = conn.view
            if view is None:  # the room's view
                vcfg, key = cfg, cell
            else:
                vcfg, key = views.get(view), (cell, view)
                if vcfg is None:
                    vcfg = views[view] = replace(cfg, view_w=view[0], view_h=view[1])
            was = conn.area  # (room, cell size and view, cells, the box its viewer may stand in to keep it)
            same = was is not None and was[0] == room and was[1] == key and was[2] is not None
            if p is None:  # the viewer's own position is not known here yet: the whole room
                area = None
                conn.area = (room, key, None, None)
            else:
                x, y = p["x"], p["y"]
                box = was[3] if same else None
                if box is not None and box[0] <= x < box[1] and box[2] <= y < box[3]:
                    area = was[2]
                else:
                    area = vcfg.cells(x, y)
                    conn.area = (room, key, area, vcfg.keep_box(area))
            entered = None
            if same and area is not None and was[2] != area:
                # The area moved: the bodies standing in the cells it took in come with their exact place.
                if index is None:
                    index = self._index(room, cell, nmap)
                entered = self._entered(was[2], area, index, moved_now)
            done = areas.get(area)
            if done is None:
                m, e = rows.text(area)
                done = areas[area] = [head + '"m":[' + m + '],"e":[' + e + "]", None, None]
            body = done[0]
            far = None
            if all_phase >= 0 and conn.spread % far_all == all_phase:
                if whole_b is None:
                    whole_b = fs.text(tick_no - far_all).encode()
                far = whole_b
            elif far_phase >= 0 and conn.spread % far_every == far_phase:
                fa = None if p is None else cfg.far_cells(x, y)
                far = ring_b.get(fa)
                if far is None:
                    if ring is None:
                        ring = fs.rows(tick_no - far_every, cfg.block)
                    far = ring_b[fa] = (',"f":[' + ring.text(fa)[0] + "]").encode()
            if entered:  # this client's own frame: the entered bodies first in `m`
                rest = body[len(head) + len('"m":['):]
                body = head + '"m":[' + ",".join(entered) + ("" if rest.startswith("]") else ",") + rest
            own = bool(conn.acks or entered)  # a frame of this client's own, not the area's shared one
            tail = self._acks(conn) + "}]" if conn.acks else "}]"
            if far is not None:  # the far part is written as it is, not copied per client
                if entered:
                    first = ("4" + body).encode()
                else:
                    first = done[2]
                    if first is None:
                        first = done[2] = ("4" + body).encode()
                self._send_parts(eio_sid, [first, far, tail.encode()])
                continue
            if own:
                self._send(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, data=body + tail))
                continue
            frame = done[1]
            if frame is None:
                if body.endswith('"m":[],"e":[]'):
                    continue  # nothing near moved, no far update due, no acks: no frame
                # most areas have one viewer: the websocket frame is built as bytes, no packet object
                data = ("4" + body + "}]").encode()
                frame = done[1] = ws_header(len(data)) + data
            sock = sockets.get(eio_sid)  # straight out in one call, else as a packet by push's queue and rules
            if sock is not None and not write_frame(sock, frame):
                push(eio_sid, sock, [eio_packet.Packet(eio_packet.MESSAGE, data=body + "}]")])
        return served

    def _index(self, room: str, cell: float, nmap: dict[str, int]) -> dict[tuple[int, int], list[tuple[int, float, float]]]:
        """Every body of the room by cell, where this node's mirror has it now: (n, x, y)."""
        index: dict[tuple[int, int], list[tuple[int, float, float]]] = {}
        for pid, p in (self.mirror.rooms.get(room) or {}).items():
            n = nmap.get(pid)
            if n is None:
                continue
            x, y = p["x"], p["y"]
            key = (int(x // cell), int(y // cell))
            bucket = index.get(key)
            if bucket is None:
                bucket = index[key] = []
            bucket.append((n, x, y))
        return index

    @staticmethod
    def _entered(was: tuple, area: tuple, index: dict, moved_now: set[int]) -> list[str]:
        """Entries of the bodies in the cells of `area` that `was` lacked, but those this tick's moves carry."""
        wx0, wx1, wy0, wy1 = was
        cx0, cx1, cy0, cy1 = area
        out = []
        for cx in range(cx0, cx1 + 1):
            for cy in range(cy0, cy1 + 1):
                if wx0 <= cx <= wx1 and wy0 <= cy <= wy1:
                    continue
                for n, x, y in index.get((cx, cy), ()):
                    if n not in moved_now:
                        out.append(f"{n},{_n(x)},{_n(y)}")
        return out

    def _acks(self, conn: Connection) -> str:
        acks, conn.acks = conn.acks, []
        self.hub.folded.discard(conn.sid)
        return ',"a":' + _compact(acks)

    def _send(self, eio_sid: str, pkt) -> None:
        sock = self.fanout.sio.eio.sockets.get(eio_sid)
        if sock is not None:
            self.fanout.push(eio_sid, sock, [pkt])

    def _send_parts(self, eio_sid: str, parts: list[bytes]) -> None:
        sock = self.fanout.sio.eio.sockets.get(eio_sid)
        if sock is not None:
            self.fanout.push_parts(eio_sid, sock, parts)

    def flush(self) -> None:
        """Once per tick interval (the node's tick loop): far updates of rooms where nothing moved
        this tick still go out on time; folded acks no tick carried go in a frame of their own."""
        ticked, self._ticked = self._ticked, set()
        now = round(time.time(), 3)
        for room, fs in list(self._far.items()):
            if room not in ticked and fs.pending(self._ticks.get(room, 0)):
                self.tick(room, {"t": now, "moves": []})
        self._ticked.clear()
        if not self.hub.folded:
            return
        sids, self.hub.folded = self.hub.folded, set()
        for sid in sids:
            conn = self.hub.connections.get(sid)
            if conn is None or not conn.acks:
                continue
            eio_sid = self.fanout.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
            if eio_sid is None:
                conn.acks = []
                continue
            text = f'2["world:frame",{{"room":{json.dumps(conn.room)},"t":{now!r},"m":[],"e":[]'
            self._send(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, data=text + self._acks(conn) + "}]"))
