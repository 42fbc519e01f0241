// The world's bundled art, served by the world at /api/world/art/ (drawn by tools/world/make_art.py):
// avatar sprite layers the client tints with each person's colours, and emote icons, so that no
// emoji font is needed anywhere.

import { Rectangle, Texture } from "pixi.js";

const ART = "/api/world/art/";
let loading = null;

/** An image as a texture, loaded by the page itself (Pixi's loader would start a blob worker,
 * which the server's Content-Security-Policy forbids). Pixel art: no smoothing. */
export async function loadTexture(url) {
  const img = new Image();
  img.src = url;
  await img.decode();
  const tex = Texture.from(img);
  tex.source.scaleMode = "nearest";
  return tex;
}

function slice(base, x, y, w, h) {
  return new Texture({ source: base.source, frame: new Rectangle(x, y, w, h) });
}

async function loadAll() {
  const [avatarMeta, emoteMeta] = await Promise.all([
    fetch(`${ART}avatars.json`).then((r) => r.json()),
    fetch(`${ART}emotes.json`).then((r) => r.json()),
  ]);
  const [avatarSheet, emoteSheet] = await Promise.all([loadTexture(`${ART}avatars.png`), loadTexture(`${ART}emotes.png`)]);
  const [fw, fh] = avatarMeta.frame;
  const rows = avatarMeta.directions.length;
  // avatar.frames[layer][direction][frame]
  const frames = {};
  avatarMeta.layers.forEach((layer, li) => {
    frames[layer] = {};
    avatarMeta.directions.forEach((dir, di) => {
      frames[layer][dir] = [];
      for (let f = 0; f < avatarMeta.frames; f++) frames[layer][dir].push(slice(avatarSheet, f * fw, (li * rows + di) * fh, fw, fh));
    });
  });
  const emotes = {};
  emoteMeta.names.forEach((name, i) => {
    emotes[name] = slice(emoteSheet, i * emoteMeta.size, 0, emoteMeta.size, emoteMeta.size);
  });
  return { avatar: { ...avatarMeta, frames }, emotes };
}

/** The art, loaded once; null when it cannot be (the renderer then draws shapes). */
export function loadArt(waitMs = 5000) {
  if (!loading) {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), waitMs));
    loading = Promise.race([loadAll(), late]).catch((e) => {
      console.warn("world art did not load", e);
      return null;
    });
  }
  return loading;
}
