"""Draws the world's own art with Pillow: the 32x32 tileset (with its Tiled .tsj), the avatar
sprite layers and the emote icons. Everything is drawn here, so the project owns it (MIT, like
the code) and anyone can redraw it: `python tools/world/make_art.py` writes server/data/art/.

Shapes are drawn at 4x and scaled down, which gives smooth edges without hand-drawn pixels.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[2] / "server" / "data" / "art"
T = 32  # tile size
S = 4  # drawing scale
COLUMNS = 8

# name, collides, drawn on a transparent background (decoration / above-avatar layers)
TILES: list[tuple[str, bool, bool]] = [
    ("grass", False, False), ("grass_flowers", False, False), ("path", False, False), ("road", False, False),
    ("water", True, False), ("fountain_rim", True, False), ("fountain_spout", True, False), ("floor_wood", False, False),
    ("tree_trunk", True, True), ("tree_canopy", False, True), ("bench", True, True), ("hedge", True, True),
    ("flower_bed", True, True), ("lamp", True, True), ("notice_board", True, True), ("crate", True, True),
    ("stall_counter", True, True), ("awning_red", False, True), ("awning_blue", False, True), ("bookshelf", True, False),
    ("wall", True, False), ("door", False, False), ("table", True, True), ("rug", False, False),
    ("floor_stone", False, False), ("gate", False, False), ("sign", True, True), ("well", True, True),
]


def canvas(w: int = T, h: int = T) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (w * S, h * S), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def down(img: Image.Image, w: int = T, h: int = T) -> Image.Image:
    return img.resize((w, h), Image.Resampling.LANCZOS)


def box(d, x0, y0, x1, y1, fill, outline=None, width=1, r=0):
    if r:
        d.rounded_rectangle([x0 * S, y0 * S, x1 * S - 1, y1 * S - 1], r * S, fill=fill, outline=outline, width=width * S)
    else:
        d.rectangle([x0 * S, y0 * S, x1 * S - 1, y1 * S - 1], fill=fill, outline=outline, width=width * S)


def oval(d, cx, cy, rx, ry, fill, outline=None, width=1):
    d.ellipse([(cx - rx) * S, (cy - ry) * S, (cx + rx) * S, (cy + ry) * S], fill=fill, outline=outline, width=width * S)


def line(d, pts, fill, width=1):
    d.line([(x * S, y * S) for x, y in pts], fill=fill, width=int(width * S), joint="curve")


def speckle(d, rng, colors, n, size=1.0):
    for _ in range(n):
        x, y = rng.uniform(0, T), rng.uniform(0, T)
        oval(d, x, y, size, size * 0.7, rng.choice(colors))


def grass(d, rng, flowers=False):
    box(d, 0, 0, T, T, (109, 163, 77))
    for _ in range(26):
        x, y = rng.uniform(1, T - 1), rng.uniform(2, T - 1)
        line(d, [(x, y), (x + rng.uniform(-1, 1), y - rng.uniform(2, 4))], rng.choice([(86, 138, 60), (132, 186, 94)]), 0.8)
    if flowers:
        for _ in range(5):
            x, y = rng.uniform(3, T - 3), rng.uniform(3, T - 3)
            c = rng.choice([(255, 240, 120), (255, 255, 255), (240, 130, 170)])
            for a in range(5):
                oval(d, x + 1.3 * math.cos(a * 1.256), y + 1.3 * math.sin(a * 1.256), 1, 1, c)
            oval(d, x, y, 0.7, 0.7, (230, 160, 40))


def draw_tile(name: str, rng: random.Random) -> Image.Image:
    img, d = canvas()
    if name == "grass":
        grass(d, rng)
    elif name == "grass_flowers":
        grass(d, rng, flowers=True)
    elif name == "path":
        box(d, 0, 0, T, T, (216, 196, 150))
        speckle(d, rng, [(190, 168, 122), (232, 216, 176), (170, 150, 110)], 30, 0.9)
    elif name == "road":
        box(d, 0, 0, T, T, (112, 108, 104))
        for row in range(4):
            off = 4 if row % 2 else 0
            for col in range(-1, 4):
                x = col * 8 + off
                shade = rng.randint(150, 178)
                box(d, x + 0.6, row * 8 + 0.6, x + 7.4, row * 8 + 7.4, (shade, shade - 4, shade - 10), r=2)
    elif name in ("water", "fountain_spout"):
        box(d, 0, 0, T, T, (58, 132, 196))
        for i in range(4):
            y = 5 + i * 8 + rng.uniform(-1, 1)
            line(d, [(3, y), (9, y - 1.5), (15, y)], (132, 190, 232), 1)
            line(d, [(17, y + 3), (23, y + 1.5), (29, y + 3)], (132, 190, 232), 1)
        if name == "fountain_spout":
            oval(d, 16, 16, 9, 9, (170, 170, 176), (120, 120, 128), 1)
            oval(d, 16, 16, 5, 5, (190, 226, 250))
            for a in range(8):
                ang = a * math.pi / 4
                line(d, [(16, 16), (16 + 11 * math.cos(ang), 16 + 11 * math.sin(ang))], (230, 245, 255), 1.2)
            oval(d, 16, 16, 2.5, 2.5, (255, 255, 255))
    elif name == "fountain_rim":
        box(d, 0, 0, T, T, (176, 172, 166))
        for i in range(2):
            box(d, 1, 1 + i * 16, 15, 15 + i * 16, (198, 194, 188), (150, 146, 140), 1, r=2)
            box(d, 17, 1 + i * 16, 31, 15 + i * 16, (190, 186, 180), (150, 146, 140), 1, r=2)
    elif name == "floor_wood":
        box(d, 0, 0, T, T, (176, 128, 82))
        for i in range(4):
            box(d, 0, i * 8, T, i * 8 + 1, (140, 98, 60))
            x = rng.randint(4, 28)
            box(d, x, i * 8, x + 1, i * 8 + 8, (140, 98, 60))
    elif name == "floor_stone":
        box(d, 0, 0, T, T, (200, 196, 186))
        for i in range(2):
            for j in range(2):
                box(d, i * 16 + 0.5, j * 16 + 0.5, i * 16 + 15.5, j * 16 + 15.5, (214, 210, 200), (176, 172, 162), 1)
    elif name == "tree_trunk":
        oval(d, 16, 28, 11, 3.5, (0, 0, 0, 70))
        box(d, 13, 10, 19, 29, (112, 76, 44), r=2)
        box(d, 14, 12, 15.5, 27, (140, 98, 60))
        oval(d, 16, 6, 13, 10, (54, 122, 58))
        oval(d, 12, 4, 6, 5, (76, 150, 72))
    elif name == "tree_canopy":
        oval(d, 16, 18, 15, 14, (46, 108, 52))
        oval(d, 16, 16, 13, 12, (60, 132, 62))
        oval(d, 11, 11, 6, 5, (86, 160, 80))
        oval(d, 21, 19, 4, 3.5, (76, 150, 72))
    elif name == "bench":
        oval(d, 16, 26, 14, 3, (0, 0, 0, 60))
        box(d, 3, 9, 29, 14, (150, 98, 56), (96, 62, 34), 1, r=1)
        box(d, 3, 16, 29, 21, (168, 112, 64), (96, 62, 34), 1, r=1)
        box(d, 5, 21, 7, 27, (70, 70, 74))
        box(d, 25, 21, 27, 27, (70, 70, 74))
    elif name == "hedge":
        oval(d, 16, 18, 15, 13, (38, 96, 46))
        for _ in range(12):
            oval(d, rng.uniform(5, 27), rng.uniform(8, 26), 4, 3.5, rng.choice([(52, 118, 58), (64, 134, 66)]))
    elif name == "flower_bed":
        box(d, 1, 4, 31, 30, (110, 76, 50), (84, 58, 38), 1, r=3)
        for _ in range(9):
            x, y = rng.uniform(6, 26), rng.uniform(9, 25)
            oval(d, x, y + 2, 2, 1.2, (64, 134, 66))
            oval(d, x, y, 2.2, 2.2, rng.choice([(240, 96, 120), (255, 210, 80), (180, 120, 230), (255, 255, 255)]))
    elif name == "lamp":
        oval(d, 16, 29, 6, 2, (0, 0, 0, 70))
        box(d, 15, 8, 17, 29, (50, 52, 60))
        box(d, 11, 2, 21, 10, (60, 62, 70), r=2)
        box(d, 12.5, 3.5, 19.5, 8.5, (255, 224, 130))
    elif name == "notice_board":
        oval(d, 16, 29, 13, 2.5, (0, 0, 0, 70))
        box(d, 6, 16, 8, 30, (96, 62, 34))
        box(d, 24, 16, 26, 30, (96, 62, 34))
        box(d, 2, 3, 30, 21, (150, 98, 56), (96, 62, 34), 1, r=1)
        box(d, 4, 5, 28, 19, (196, 160, 110))
        for x, y, c in ((6, 6, (250, 250, 240)), (14, 8, (255, 236, 150)), (21, 6, (200, 230, 255)), (9, 13, (255, 210, 210))):
            box(d, x, y, x + 6, y + 6, c)
            box(d, x + 2.5, y + 0.5, x + 3.5, y + 1.5, (200, 40, 40))
    elif name == "crate":
        oval(d, 16, 28, 13, 3, (0, 0, 0, 60))
        box(d, 4, 6, 28, 28, (186, 140, 84), (120, 84, 44), 1)
        line(d, [(5, 7), (27, 27)], (120, 84, 44), 1.2)
        line(d, [(27, 7), (5, 27)], (120, 84, 44), 1.2)
    elif name == "stall_counter":
        box(d, 0, 8, T, 30, (150, 98, 56), (96, 62, 34), 1)
        box(d, 0, 8, T, 12, (176, 122, 72))
        for i, c in enumerate([(240, 180, 60), (200, 70, 60), (90, 160, 90), (240, 230, 200)]):
            oval(d, 5 + i * 7.5, 7, 3, 3, c)
    elif name in ("awning_red", "awning_blue"):
        stripe = (214, 64, 64) if name == "awning_red" else (56, 112, 196)
        for i in range(4):
            box(d, i * 8, 0, i * 8 + 8, 22, stripe if i % 2 == 0 else (246, 240, 228))
            d.pieslice([i * 8 * S, 16 * S, (i * 8 + 8) * S, 28 * S], 0, 180,
                       fill=stripe if i % 2 == 0 else (246, 240, 228))
    elif name == "bookshelf":
        box(d, 0, 0, T, T, (102, 66, 38))
        for shelf in range(3):
            y = 2 + shelf * 10
            box(d, 2, y, 30, y + 9, (70, 44, 24))
            x = 3.0
            while x < 28:
                w = rng.uniform(2, 3.6)
                h = rng.uniform(6, 8.5)
                c = rng.choice([(170, 50, 50), (50, 90, 160), (60, 130, 80), (210, 170, 70), (120, 70, 140), (220, 220, 210)])
                box(d, x, y + 9 - h, min(x + w, 29), y + 9, c)
                x += w + 0.4
    elif name == "wall":
        box(d, 0, 0, T, T, (150, 86, 66))
        for row in range(4):
            off = 8 if row % 2 else 0
            for col in range(-1, 3):
                x = col * 16 + off
                box(d, x + 0.7, row * 8 + 0.7, x + 15.3, row * 8 + 7.3, (174, 102, 78))
        box(d, 0, 0, T, 3, (110, 64, 50))
    elif name == "door":
        box(d, 0, 0, T, T, (150, 86, 66))
        box(d, 3, 2, 29, T, (92, 56, 30), r=3)
        box(d, 5, 4, 15.5, T, (150, 98, 56))
        box(d, 16.5, 4, 27, T, (150, 98, 56))
        oval(d, 13.5, 19, 1.2, 1.2, (240, 200, 90))
        oval(d, 18.5, 19, 1.2, 1.2, (240, 200, 90))
    elif name == "gate":
        box(d, 0, 0, T, T, (112, 108, 104))
        box(d, 2, 2, 30, 30, (200, 170, 90), (140, 110, 50), 1, r=4)
        d.polygon([(16 * S, 6 * S), (26 * S, 16 * S), (16 * S, 26 * S)], fill=(90, 70, 30))
        box(d, 6, 13, 17, 19, (90, 70, 30))
    elif name == "table":
        oval(d, 16, 27, 14, 3, (0, 0, 0, 60))
        box(d, 2, 6, 30, 22, (160, 110, 64), (104, 70, 38), 1, r=2)
        box(d, 4, 22, 6, 28, (104, 70, 38))
        box(d, 26, 22, 28, 28, (104, 70, 38))
        box(d, 9, 10, 17, 16, (240, 236, 220))
        box(d, 13, 10, 13.6, 16, (180, 170, 150))
    elif name == "rug":
        box(d, 0, 0, T, T, (150, 52, 56))
        box(d, 3, 3, 29, 29, (176, 70, 66), (230, 190, 100), 1)
        d.polygon([(16 * S, 8 * S), (24 * S, 16 * S), (16 * S, 24 * S), (8 * S, 16 * S)], outline=(230, 190, 100), width=S)
    elif name == "sign":
        oval(d, 16, 29, 6, 2, (0, 0, 0, 70))
        box(d, 15, 12, 17, 30, (96, 62, 34))
        box(d, 4, 4, 28, 14, (196, 160, 110), (96, 62, 34), 1, r=1)
        line(d, [(8, 9), (24, 9)], (96, 62, 34), 1)
    elif name == "well":
        oval(d, 16, 20, 13, 10, (150, 146, 140), (110, 106, 100), 1)
        oval(d, 16, 20, 8, 6, (40, 80, 120))
        box(d, 4, 2, 6, 20, (96, 62, 34))
        box(d, 26, 2, 28, 20, (96, 62, 34))
        box(d, 3, 1, 29, 4, (120, 76, 44))
    return down(img)


def tileset(rng: random.Random) -> None:
    rows = math.ceil(len(TILES) / COLUMNS)
    sheet = Image.new("RGBA", (COLUMNS * T, rows * T), (0, 0, 0, 0))
    tiles_meta = []
    for i, (name, collides, _) in enumerate(TILES):
        sheet.paste(draw_tile(name, rng), ((i % COLUMNS) * T, (i // COLUMNS) * T))
        props = [{"name": "name", "type": "string", "value": name}]
        if collides:
            props.append({"name": "collides", "type": "bool", "value": True})
        tiles_meta.append({"id": i, "type": name, "properties": props})
    sheet.save(OUT / "townsquare.png", optimize=True)
    tsj = {
        "type": "tileset", "version": "1.10", "tiledversion": "1.10.2", "name": "townsquare",
        "tilewidth": T, "tileheight": T, "tilecount": len(TILES), "columns": COLUMNS, "margin": 0, "spacing": 0,
        "image": "townsquare.png", "imagewidth": COLUMNS * T, "imageheight": rows * T, "tiles": tiles_meta,
    }
    (OUT / "townsquare.tsj").write_text(json.dumps(tsj, indent=1) + "\n")


# -- avatars: greyscale layers the client tints (skin, shirt, pants, hair), 4 directions x 4 frames --
AW, AH = 32, 48
DIRS = ["down", "left", "right", "up"]
LAYERS = ["base", "skin", "shirt", "pants", "hair", "sash"]
LIGHT, SHADE = (236, 236, 236), (196, 196, 196)


def avatar_frame(layer: str, direction: str, frame: int) -> Image.Image:
    img, d = canvas(AW, AH)
    stride = (0, 2.5, 0, -2.5)[frame]  # frames: idle, left foot forward, idle, right foot forward
    bob = 0 if frame % 2 == 0 else -1
    side = direction in ("left", "right")
    face = -1 if direction == "left" else 1
    cx = 16
    ink = (40, 34, 30)
    if layer == "base":
        oval(d, cx, 45, 8, 2.2, (0, 0, 0, 80))
        if side:  # shoes, one ahead of the other
            oval(d, cx + stride * face, 43.5, 3, 1.6, ink)
            oval(d, cx - stride * face, 43.5, 3, 1.6, ink)
        else:
            oval(d, cx - 3.5, 43.5 - max(stride, 0) * 0.4, 2.6, 1.6, ink)
            oval(d, cx + 3.5, 43.5 - max(-stride, 0) * 0.4, 2.6, 1.6, ink)
        if direction == "down":
            oval(d, cx - 2.6, 15 + bob, 1, 1.2, ink)
            oval(d, cx + 2.6, 15 + bob, 1, 1.2, ink)
            line(d, [(cx - 1.5, 19 + bob), (cx + 1.5, 19 + bob)], (150, 80, 70), 0.8)
        elif side:
            oval(d, cx + 3.8 * face, 15 + bob, 1, 1.2, ink)
    elif layer == "pants":
        if side:
            line(d, [(cx, 33 + bob), (cx + stride * face, 42)], LIGHT, 4.2)
            line(d, [(cx, 33 + bob), (cx - stride * face, 42)], SHADE, 4.2)
        else:
            box(d, cx - 6, 31 + bob, cx - 0.5, 42 - max(stride, 0) * 0.4, LIGHT)
            box(d, cx + 0.5, 31 + bob, cx + 6, 42 - max(-stride, 0) * 0.4, SHADE)
    elif layer == "shirt":
        w = 5.5 if side else 7.5
        box(d, cx - w, 21 + bob, cx + w, 34 + bob, LIGHT, r=3)
        if side:  # one arm swinging
            line(d, [(cx, 23 + bob), (cx - stride * face * 0.8, 31 + bob)], SHADE, 3.4)
        else:
            line(d, [(cx - 8, 23 + bob), (cx - 9, 31 + bob - stride * 0.4)], SHADE, 3.2)
            line(d, [(cx + 8, 23 + bob), (cx + 9, 31 + bob + stride * 0.4)], SHADE, 3.2)
    elif layer == "skin":
        oval(d, cx, 15 + bob, 7, 7.5, LIGHT)
        if side:
            oval(d, cx - stride * face * 0.8, 32 + bob, 1.8, 1.8, SHADE)
        else:
            oval(d, cx - 9, 32 + bob - stride * 0.4, 1.8, 1.8, SHADE)
            oval(d, cx + 9, 32 + bob + stride * 0.4, 1.8, 1.8, SHADE)
    elif layer == "hair":
        if direction == "up":
            oval(d, cx, 14.5 + bob, 7.4, 7.8, LIGHT)
        elif side:
            d.pieslice([(cx - 7.4) * S, (7 + bob) * S, (cx + 7.4) * S, (22 + bob) * S], 180, 360, fill=LIGHT)
            box(d, cx - 7.4 if face > 0 else cx + 1, 12 + bob, cx - 1 if face > 0 else cx + 7.4, 19 + bob, SHADE)
        else:
            d.pieslice([(cx - 7.4) * S, (7 + bob) * S, (cx + 7.4) * S, (21 + bob) * S], 180, 360, fill=LIGHT)
    elif layer == "sash":  # residents wear a sash across the chest
        if direction != "up":
            line(d, [(cx - 6, 22 + bob), (cx + 6, 33 + bob)], LIGHT, 2.6)
            oval(d, cx, 27 + bob, 2.2, 2.2, SHADE)
        else:
            line(d, [(cx + 6, 22 + bob), (cx - 6, 33 + bob)], LIGHT, 2.6)
    return down(img, AW, AH)


def avatars() -> None:
    sheet = Image.new("RGBA", (4 * AW, len(LAYERS) * len(DIRS) * AH), (0, 0, 0, 0))
    for li, layer in enumerate(LAYERS):
        for di, direction in enumerate(DIRS):
            for f in range(4):
                sheet.paste(avatar_frame(layer, direction, f), (f * AW, (li * len(DIRS) + di) * AH))
    sheet.save(OUT / "avatars.png", optimize=True)
    meta = {"frame": [AW, AH], "anchor": [16, 45], "layers": LAYERS, "directions": DIRS, "frames": 4,
            "walk": [1, 0, 3, 0], "license": "MIT (drawn by tools/world/make_art.py)"}
    (OUT / "avatars.json").write_text(json.dumps(meta, indent=1) + "\n")


# -- emotes: drawn icons, no emoji font needed ------------------------------------------------------
EMOTES = ["wave", "dance", "laugh", "cheer", "clap", "sit", "nod", "shrug", "bow", "think"]


def emote_icon(name: str) -> Image.Image:
    img, d = canvas()
    yellow, ink = (255, 206, 84), (60, 44, 30)

    def face(mouth="smile"):
        oval(d, 16, 16, 13, 13, yellow, (200, 140, 40), 1)
        oval(d, 11.5, 13, 1.6, 2.2, ink)
        oval(d, 20.5, 13, 1.6, 2.2, ink)
        if mouth == "smile":
            d.arc([10 * S, 13 * S, 22 * S, 23 * S], 20, 160, fill=ink, width=int(1.6 * S))
        elif mouth == "open":
            d.chord([9 * S, 15 * S, 23 * S, 25 * S], 0, 180, fill=ink)
        elif mouth == "flat":
            line(d, [(12, 21), (20, 21)], ink, 1.6)
        elif mouth == "o":
            oval(d, 18, 21, 2, 2, ink)

    if name == "wave":
        box(d, 9, 12, 23, 28, yellow, (200, 140, 40), 1, r=5)
        for i, x in enumerate((9.5, 13, 16.5, 20)):
            box(d, x, 4 + abs(1.5 - i), x + 3, 15, yellow, (200, 140, 40), 1, r=1.5)
        line(d, [(3, 10), (5, 6)], (90, 150, 220), 1.5)
        line(d, [(27, 10), (29, 6)], (90, 150, 220), 1.5)
    elif name == "dance":
        for x, y in ((8, 22), (22, 18)):
            oval(d, x, y, 4, 3.2, (150, 80, 200))
            box(d, x + 2.6, y - 14, x + 4.2, y, (150, 80, 200))
        line(d, [(11.4, 8), (25.4, 4)], (150, 80, 200), 3)
    elif name == "laugh":
        face("open")
        oval(d, 5, 18, 2.5, 3.5, (120, 190, 250))
        oval(d, 27, 18, 2.5, 3.5, (120, 190, 250))
    elif name == "cheer":
        pts = []
        for i in range(10):
            r = 14 if i % 2 == 0 else 6
            a = -math.pi / 2 + i * math.pi / 5
            pts.append(((16 + r * math.cos(a)) * S, (17 + r * math.sin(a)) * S))
        d.polygon(pts, fill=(255, 200, 60), outline=(210, 130, 30))
        for x, y, c in ((4, 5, (240, 80, 100)), (28, 6, (80, 170, 240)), (5, 28, (90, 200, 120)), (27, 28, (200, 100, 230))):
            box(d, x - 1.5, y - 1.5, x + 1.5, y + 1.5, c)
    elif name == "clap":
        for dx, c in ((-4, (255, 214, 110)), (4, yellow)):
            box(d, 10 + dx, 8, 22 + dx, 27, c, (200, 140, 40), 1, r=5)
        for a in (-2.4, -1.6, -0.8):
            line(d, [(16 + 9 * math.cos(a), 8 + 9 * math.sin(a)), (16 + 13 * math.cos(a), 8 + 13 * math.sin(a))], (240, 120, 60), 1.4)
    elif name == "sit":
        box(d, 8, 4, 12, 28, (150, 98, 56))
        box(d, 8, 16, 25, 20, (176, 122, 72))
        box(d, 21, 20, 25, 28, (150, 98, 56))
    elif name == "nod":
        face("smile")
        line(d, [(22, 26), (25, 29), (31, 21)], (60, 170, 90), 2.4)
    elif name == "shrug":
        face("flat")
        line(d, [(1, 14), (4, 18), (7, 16)], ink, 1.6)
        line(d, [(31, 14), (28, 18), (25, 16)], ink, 1.6)
    elif name == "bow":
        oval(d, 9, 12, 5, 5, yellow, (200, 140, 40), 1)
        line(d, [(13, 15), (23, 18), (24, 29)], (70, 110, 190), 4)
        line(d, [(24, 29), (20, 29)], ink, 2)
    elif name == "think":
        oval(d, 18, 12, 12, 9, (250, 250, 250), (120, 120, 140), 1)
        oval(d, 8, 24, 3, 2.5, (250, 250, 250), (120, 120, 140), 1)
        oval(d, 4, 29, 1.8, 1.5, (250, 250, 250), (120, 120, 140), 1)
        for x in (12, 18, 24):
            oval(d, x, 12, 1.5, 1.5, (120, 120, 140))
    return down(img)


def emotes() -> None:
    sheet = Image.new("RGBA", (len(EMOTES) * T, T), (0, 0, 0, 0))
    for i, name in enumerate(EMOTES):
        sheet.paste(emote_icon(name), (i * T, 0))
    sheet.save(OUT / "emotes.png", optimize=True)
    (OUT / "emotes.json").write_text(json.dumps({"size": T, "names": EMOTES}, indent=1) + "\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(16)  # the same art every run
    tileset(rng)
    avatars()
    emotes()
    (OUT / "LICENSE.txt").write_text(
        "The tileset, avatar sprites and emote icons in this folder were drawn by tools/world/make_art.py\n"
        "for Townsquare. They are the project's own and carry its license (MIT): use, change and\n"
        "redistribute them freely.\n")
    print(f"art written to {OUT}")


if __name__ == "__main__":
    main()
