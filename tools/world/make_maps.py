"""Turns the readable room layouts (tools/world/layouts/*.yaml) into Tiled maps
(server/data/maps/<slug>.tmj) that use the bundled tileset (server/data/art/townsquare.tsj).

    python tools/world/make_maps.py          # after editing a layout

Each layout has a character grid and lists of spawns, doors, areas and objects in tiles.
The maps open in the Tiled editor; edit them there or here (this script overwrites them).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LAYOUTS = Path(__file__).resolve().parent / "layouts"
OUT = ROOT / "server" / "data" / "maps"
T = 32

# character: (ground, decoration, above the tile one row up). The tileset says what collides.
LEGEND: dict[str, tuple[str, str | None, str | None]] = {
    ".": ("grass", None, None),
    ",": ("grass_flowers", None, None),
    ":": ("path", None, None),
    "=": ("road", None, None),
    "~": ("water", None, None),
    "o": ("fountain_rim", None, None),
    "*": ("fountain_spout", None, None),
    "T": ("grass", "tree_trunk", "tree_canopy"),
    "b": ("grass", "bench", None),
    "B": ("path", "bench", None),
    "h": ("grass", "hedge", None),
    "f": ("grass", "flower_bed", None),
    "l": ("grass", "lamp", None),
    "L": ("path", "lamp", None),
    "n": ("path", "notice_board", None),
    "w": ("road", "well", None),
    "x": ("path", "crate", None),
    "c": ("path", "stall_counter", "awning_red"),
    "C": ("path", "stall_counter", "awning_blue"),
    "#": ("wall", None, None),
    "D": ("door", None, None),
    "G": ("gate", None, None),
    "_": ("floor_wood", None, None),
    "r": ("rug", None, None),
    "K": ("bookshelf", None, None),
    "t": ("floor_wood", "table", None),
    "s": ("floor_stone", None, None),
}


def props(**kw) -> list[dict]:
    kinds = {bool: "bool", int: "int", float: "float"}
    return [{"name": k, "type": kinds.get(type(v), "string"), "value": v} for k, v in kw.items()]


def build(layout: dict, gids: dict[str, int]) -> dict:
    grid = layout["grid"].splitlines()
    height, width = len(grid), len(grid[0])
    ground, deco, above = [0] * (width * height), [0] * (width * height), [0] * (width * height)
    for r, line in enumerate(grid):
        if len(line) != width:
            raise SystemExit(f"{layout['slug']}: row {r} has {len(line)} characters, not {width}")
        for c, ch in enumerate(line):
            g, d, a = LEGEND[ch]
            ground[r * width + c] = gids[g]
            if d:
                deco[r * width + c] = gids[d]
            if a and r > 0:
                above[(r - 1) * width + c] = gids[a]
    next_id = 1
    groups: dict[str, list] = {"spawns": [], "doors": [], "areas": [], "objects": []}

    def obj(name, cls, x, y, w=0, h=0, point=False, properties=None):
        nonlocal next_id
        o = {"id": next_id, "name": name, "type": cls, "x": x * T, "y": y * T, "width": w * T, "height": h * T,
             "rotation": 0, "visible": True}
        if point:
            o["point"] = True
        if properties:
            o["properties"] = properties
        next_id += 1
        return o

    for name, (x, y) in layout["spawns"].items():
        groups["spawns"].append(obj(name, "spawn", x, y, point=True))
    for d in layout.get("doors", []):
        x, y, w, h = d["at"]
        groups["doors"].append(obj(d["name"], "door", x, y, w, h,
                                   properties=props(target_room=d["room"], target_spawn=d.get("spawn", ""))))
    for a in layout.get("areas", []):
        x, y, w, h = a["at"]
        groups["areas"].append(obj(a["name"], "area", x, y, w, h))
    for o in layout.get("objects", []):
        x, y, w, h = o["at"]
        extra = {k: v for k, v in o.items() if k not in ("name", "kind", "at")}
        groups["objects"].append(obj(o["name"], o["kind"], x, y, w, h, properties=props(**extra)))

    def tiles(lid, name, data, **extra):
        return {"id": lid, "name": name, "type": "tilelayer", "width": width, "height": height, "x": 0, "y": 0,
                "opacity": 1, "visible": True, "data": data, **extra}

    layers = [tiles(1, "ground", ground), tiles(2, "decoration", deco),
              tiles(3, "above", above, properties=props(above=True))]
    for i, (name, objs) in enumerate(groups.items(), start=4):
        layers.append({"id": i, "name": name, "type": "objectgroup", "draworder": "topdown", "x": 0, "y": 0,
                       "opacity": 1, "visible": True, "objects": objs})
    return {
        "type": "map", "version": "1.10", "tiledversion": "1.10.2", "orientation": "orthogonal",
        "renderorder": "right-down", "width": width, "height": height, "tilewidth": T, "tileheight": T,
        "infinite": False, "nextlayerid": len(layers) + 1, "nextobjectid": next_id,
        "tilesets": [{"firstgid": 1, "source": "../art/townsquare.tsj"}],
        "layers": layers,
    }


def main() -> None:
    tsj = json.loads((ROOT / "server" / "data" / "art" / "townsquare.tsj").read_text())
    gids = {t["type"]: t["id"] + 1 for t in tsj["tiles"]}
    OUT.mkdir(parents=True, exist_ok=True)
    for path in sorted(LAYOUTS.glob("*.yaml")):
        layout = yaml.safe_load(path.read_text())
        doc = build(layout, gids)
        # One row of tile numbers per line: readable in a diff, still plain Tiled JSON.
        rows = {}
        for layer in doc["layers"]:
            if layer["type"] == "tilelayer":
                key = f"@@{layer['name']}@@"
                w = layer["width"]
                rows[f'"{key}"'] = "[\n" + ",\n".join(",".join(str(g) for g in layer["data"][i:i + w])
                                                      for i in range(0, len(layer["data"]), w)) + "]"
                layer["data"] = key
        text = json.dumps(doc, indent=1)
        for key, value in rows.items():
            text = text.replace(key, value)
        (OUT / f"{layout['slug']}.tmj").write_text(text + "\n")
        print(f"{layout['slug']}: {doc['width']}x{doc['height']}")


if __name__ == "__main__":
    main()
