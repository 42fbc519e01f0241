// A room's Tiled map (GET /api/rooms/{slug}/map, tilesets embedded): the ground and decoration
// layers under the avatars, the "above" layers over them, and the interactive objects.

import { Container, Rectangle, Sprite, Texture } from "pixi.js";
import { loadTexture } from "./art.js";

const FLIP_BITS = 0xf0000000;

async function tilesetTextures(tilesets) {
  const lookup = [];
  for (const ts of tilesets) {
    const base = await loadTexture(ts.image);
    const cols = ts.columns || Math.floor(ts.imagewidth / ts.tilewidth);
    for (let id = 0; id < ts.tilecount; id++) {
      const frame = new Rectangle((id % cols) * ts.tilewidth, Math.floor(id / cols) * ts.tileheight, ts.tilewidth, ts.tileheight);
      lookup[ts.firstgid + id] = new Texture({ source: base.source, frame });
    }
  }
  return lookup;
}

function isAbove(layer) {
  return layer.name === "above" || (layer.properties || []).some((p) => p.name === "above" && p.value === true);
}

function layerSprites(layer, textures, width, tile) {
  const c = new Container();
  layer.data.forEach((raw, i) => {
    const gid = raw & ~FLIP_BITS;
    const tex = gid && textures[gid];
    if (!tex) return;
    const s = new Sprite(tex);
    s.x = (i % width) * tile;
    s.y = Math.floor(i / width) * tile;
    c.addChild(s);
  });
  return c;
}

/** Fetches and builds a room's map: { below, above, objects } (containers and the object list). */
export async function loadRoomMap(url, token, tile) {
  const resp = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!resp.ok) throw new Error(`map ${resp.status}`);
  const map = await resp.json();
  const textures = await tilesetTextures(map.tilesets || []);
  const below = new Container();
  const above = new Container();
  const objects = [];
  for (const layer of map.layers || []) {
    if (layer.type === "tilelayer" && Array.isArray(layer.data) && layer.visible !== false && layer.name !== "collision") {
      (isAbove(layer) ? above : below).addChild(layerSprites(layer, textures, map.width, tile));
    } else if (layer.type === "objectgroup") {
      for (const o of layer.objects || []) objects.push(o);
    }
  }
  return { map, below, above, objects };
}
