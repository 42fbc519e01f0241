"""Room maps in the Tiled editor's JSON format (.tmj): reading, validating, and serving them.

A map is orthogonal, 32x32 tiles, with tilesets that are the world's bundled ones (external
`.tsj` references or embedded copies). What the world reads from it:
- walkability: a cell is blocked when a tile on any layer but the above-avatar ones has the
  `collides` property, or a tile layer named "collision" has a tile there;
- object layers: `spawn` points, `door` rectangles (properties `target_room`, `target_spawn`),
  `area` rectangles (named places residents talk about) and interactive objects (any other
  class: `notice_board`, `fountain`, `bookshelf`, with a `text` and other properties).
Objects are recognised by their class (Tiled 1.9+) or type, or else by their layer's name.
Positions in the world are tiles (floats); Tiled stores pixels.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

TILE = 32
MAX_SIDE = 200  # tiles per side
MAX_LAYERS = 16
MAX_OBJECTS = 500
FLIP_BITS = 0xF0000000  # Tiled keeps flip and rotation flags in a gid's top bits
ART_URL = "/api/world/art/"
LAYER_KINDS = {"spawns": "spawn", "doors": "door", "areas": "area"}


class MapError(ValueError):
    """A map the world cannot use; the message says what to fix."""


@dataclass(frozen=True)
class Door:
    name: str
    col: int
    row: int
    cols: int
    rows: int
    room: str
    spawn: str | None

    def covers(self, col: int, row: int) -> bool:
        return self.col <= col < self.col + self.cols and self.row <= row < self.row + self.rows

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "x": self.col, "y": self.row, "width": self.cols, "height": self.rows,
                "room": self.room, "spawn": self.spawn}


@dataclass(frozen=True)
class Place:
    """A named area or an interactive object, in tiles."""

    name: str
    kind: str
    x: float
    y: float
    width: float
    height: float
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def center(self) -> tuple[float, float]:
        return round(self.x + self.width / 2, 2), round(self.y + self.height / 2, 2)

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "x": self.x, "y": self.y, "width": self.width,
                "height": self.height, "center": list(self.center), "properties": dict(self.properties)}


@dataclass(frozen=True)
class RoomMap:
    width: int
    height: int
    rows: tuple[str, ...]  # "." walkable, "#" blocked (the rooms table's `tiles`)
    spawns: dict[str, tuple[float, float]]
    doors: tuple[Door, ...] = ()
    areas: tuple[Place, ...] = ()
    objects: tuple[Place, ...] = ()


# -- the bundled tilesets ------------------------------------------------------------------------
def _art(name: str):
    return resources.files("server.data").joinpath("art", name)


def bundled_tileset(name: str) -> dict[str, Any] | None:
    """A bundled tileset by its file name ("townsquare.tsj"); None when there is none."""
    base = PurePosixPath(str(name).replace("\\", "/")).name
    if not base.endswith(".tsj"):
        return None
    f = _art(base)
    return json.loads(f.read_text()) if f.is_file() else None


def art_file(name: str) -> bytes | None:
    """A bundled art file (tileset images, sprites, their JSON) by name; None for anything else."""
    if "/" in name or "\\" in name or name.startswith(".") or not name.endswith((".png", ".json", ".tsj", ".txt")):
        return None
    f = _art(name)
    return f.read_bytes() if f.is_file() else None


def _props(obj: dict) -> dict[str, Any]:
    out = {}
    for p in obj.get("properties") or []:
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            out[p["name"]] = p.get("value")
    return out


def _resolve_tilesets(doc: dict) -> list[tuple[int, dict]]:
    """(firstgid, tileset) for each tileset, external ones read from the bundle."""
    sets = doc.get("tilesets")
    if not isinstance(sets, list) or not sets:
        raise MapError("the map has no tileset")
    out = []
    for ts in sets:
        if not isinstance(ts, dict) or not isinstance(ts.get("firstgid"), int) or ts["firstgid"] < 1:
            raise MapError("each tileset needs a firstgid of 1 or more")
        if "source" in ts:
            data = bundled_tileset(ts["source"])
            if data is None:
                raise MapError(f"tileset {ts['source']!r} is not one of the world's tilesets (townsquare.tsj)")
        else:
            data = ts
            image = PurePosixPath(str(data.get("image", "")).replace("\\", "/")).name
            if not image or art_file(image) is None or not image.endswith(".png"):
                raise MapError(f"embedded tileset {data.get('name')!r} uses an image the world does not have "
                               f"({data.get('image')!r}); use townsquare.png")
        if data.get("tilewidth") != TILE or data.get("tileheight") != TILE:
            raise MapError("tiles must be 32x32 pixels")
        if not isinstance(data.get("tilecount"), int) or data["tilecount"] < 1:
            raise MapError("a tileset needs a tilecount")
        out.append((ts["firstgid"], data))
    return sorted(out, key=lambda p: p[0])


def _layer_data(layer: dict, width: int, height: int) -> list[int]:
    data = layer.get("data")
    if layer.get("encoding") == "base64":
        try:
            raw = base64.b64decode(data, validate=True)
            comp = layer.get("compression") or ""
            if comp == "zlib":
                raw = zlib.decompress(raw)
            elif comp == "gzip":
                raw = gzip.decompress(raw)
            elif comp:
                raise MapError(f"layer {layer.get('name')!r}: compression {comp!r} is not supported (use zlib or gzip)")
        except (ValueError, zlib.error, OSError, TypeError):
            raise MapError(f"layer {layer.get('name')!r}: the tile data does not decode") from None
        if len(raw) != width * height * 4:
            raise MapError(f"layer {layer.get('name')!r}: {len(raw) // 4} tiles, the map has {width * height}")
        data = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]
    if not isinstance(data, list) or len(data) != width * height or not all(isinstance(g, int) and g >= 0 for g in data):
        raise MapError(f"layer {layer.get('name')!r}: data must be {width * height} tile numbers")
    return data


def _is_above(layer: dict) -> bool:
    return layer.get("name") == "above" or _props(layer).get("above") is True


def _tiles(width: int, height: int, ox: float, oy: float, w: float, h: float) -> tuple[float, float, float, float]:
    x, y = ox / TILE, oy / TILE
    return round(x, 2), round(y, 2), round(w / TILE, 2), round(h / TILE, 2)


def parse_map(doc: Any) -> RoomMap:
    """Validates a Tiled JSON map and reads what the world needs from it. Raises MapError."""
    if not isinstance(doc, dict) or doc.get("type", "map") != "map":
        raise MapError("this is not a Tiled map (a .tmj JSON file)")
    if doc.get("orientation") != "orthogonal":
        raise MapError("the map must be orthogonal")
    if doc.get("infinite"):
        raise MapError("infinite maps are not supported: give the map a fixed size")
    width, height = doc.get("width"), doc.get("height")
    if not isinstance(width, int) or not isinstance(height, int) or not (2 <= width <= MAX_SIDE and 2 <= height <= MAX_SIDE):
        raise MapError(f"the map must be 2 to {MAX_SIDE} tiles on each side")
    if doc.get("tilewidth") != TILE or doc.get("tileheight") != TILE:
        raise MapError("tiles must be 32x32 pixels")
    tilesets = _resolve_tilesets(doc)
    last_gid = max(first + ts["tilecount"] - 1 for first, ts in tilesets)
    collides: set[int] = set()
    for first, ts in tilesets:
        for t in ts.get("tiles") or []:
            if isinstance(t, dict) and isinstance(t.get("id"), int) and _props(t).get("collides") is True:
                collides.add(first + t["id"])
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers or len(layers) > MAX_LAYERS:
        raise MapError(f"the map needs 1 to {MAX_LAYERS} layers")
    blocked = bytearray(width * height)
    objects: list[tuple[str, dict, dict]] = []
    for layer in layers:
        if not isinstance(layer, dict):
            raise MapError("a layer is not an object")
        kind = layer.get("type")
        if kind == "tilelayer":
            data = _layer_data(layer, width, height)
            solid = layer.get("name") == "collision"
            above = _is_above(layer)
            for i, gid in enumerate(data):
                gid &= ~FLIP_BITS
                if gid > last_gid:
                    raise MapError(f"layer {layer.get('name')!r} uses tile {gid}, past the tilesets' {last_gid}")
                if gid and (solid or (not above and gid in collides)):
                    blocked[i] = 1
        elif kind == "objectgroup":
            for obj in layer.get("objects") or []:
                if not isinstance(obj, dict):
                    raise MapError("an object is not an object")
                cls = obj.get("class") or obj.get("type") or LAYER_KINDS.get(layer.get("name", ""), "")
                objects.append((str(cls), obj, _props(obj)))
        elif kind != "group" and kind != "imagelayer":
            raise MapError(f"unknown layer type {kind!r}")
    if len(objects) > MAX_OBJECTS:
        raise MapError(f"at most {MAX_OBJECTS} objects")
    rows = tuple("".join("#" if blocked[r * width + c] else "." for c in range(width)) for r in range(height))
    spawns: dict[str, tuple[float, float]] = {}
    doors, areas, things = [], [], []
    for cls, obj, props in objects:
        name = str(obj.get("name") or "")
        try:
            x, y, w, h = _tiles(width, height, float(obj.get("x", 0)), float(obj.get("y", 0)),
                                float(obj.get("width", 0) or 0), float(obj.get("height", 0) or 0))
        except (TypeError, ValueError):
            raise MapError(f"object {name!r} has no position") from None
        if not (0 <= x < width and 0 <= y < height):
            raise MapError(f"object {name!r} lies outside the map")
        if cls == "spawn":
            col, row = int(x), int(y)
            if rows[row][col] == "#":
                raise MapError(f"spawn {name or 'default'!r} is on a blocked tile ({col}, {row})")
            spawns[name or "default"] = (x, y)
        elif cls == "door":
            room = props.get("target_room")
            if not isinstance(room, str) or not room:
                raise MapError(f"door {name!r} has no target_room property")
            cols, nrows = max(1, round(w)), max(1, round(h))
            spawn = props.get("target_spawn")
            doors.append(Door(name or f"door-{len(doors) + 1}", int(x), int(y), cols, nrows, room,
                              spawn if isinstance(spawn, str) and spawn else None))
        elif cls == "area":
            if not name:
                raise MapError("an area needs a name")
            areas.append(Place(name, "area", x, y, w, h, props))
        elif cls:
            things.append(Place(name or cls, cls, x, y, w, h, props))
    if not spawns:
        raise MapError("the map has no spawn point (a point object of class \"spawn\")")
    if "default" not in spawns:
        spawns["default"] = next(iter(spawns.values()))
    return RoomMap(width, height, rows, spawns, tuple(doors), tuple(areas), tuple(things))


def for_clients(doc: dict) -> dict:
    """The map as served: external tilesets embedded, images pointing at the world's art URL."""
    out = dict(doc)
    sets = []
    for first, ts in _resolve_tilesets(doc):
        ts = {k: v for k, v in ts.items() if k not in ("type", "version", "tiledversion", "source")}
        ts["firstgid"] = first
        ts["image"] = ART_URL + PurePosixPath(str(ts.get("image", "")).replace("\\", "/")).name
        sets.append(ts)
    out["tilesets"] = sets
    return out


def plain_map(width: int, height: int, rows: tuple[str, ...] | list[str], spawn: tuple[float, float]) -> dict:
    """A map for a room that has none yet: grass, and a wall on each blocked tile."""
    ts = bundled_tileset("townsquare.tsj") or {}
    gid = {t["type"]: t["id"] + 1 for t in ts.get("tiles", [])}
    ground = []
    for r in range(height):
        line = rows[r] if r < len(rows) else ""
        for c in range(width):
            ground.append(gid.get("wall", 1) if c < len(line) and line[c] == "#" else gid.get("grass", 1))
    return {
        "type": "map", "version": "1.10", "tiledversion": "1.10.2", "orientation": "orthogonal",
        "renderorder": "right-down", "width": width, "height": height, "tilewidth": TILE, "tileheight": TILE,
        "infinite": False, "nextlayerid": 3, "nextobjectid": 2,
        "tilesets": [{"firstgid": 1, "source": "townsquare.tsj"}],
        "layers": [
            {"id": 1, "name": "ground", "type": "tilelayer", "width": width, "height": height, "x": 0, "y": 0,
             "opacity": 1, "visible": True, "data": ground},
            {"id": 2, "name": "spawns", "type": "objectgroup", "draworder": "topdown", "x": 0, "y": 0,
             "opacity": 1, "visible": True,
             "objects": [{"id": 1, "name": "default", "type": "spawn", "point": True, "x": spawn[0] * TILE,
                          "y": spawn[1] * TILE, "width": 0, "height": 0, "rotation": 0, "visible": True}]},
        ],
    }
