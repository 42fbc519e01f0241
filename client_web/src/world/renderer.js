// The room renderer (PixiJS v8): the room's Tiled map (tilemap.js), avatars and residents drawn
// from the bundled sprites (art.js) with name labels, chat bubbles and emotes, click-to-walk.
// Positions come from the server (world:tick); between ticks each body glides from where it is
// drawn to its latest position. Keyboard walking moves my own body ahead of the server
// (controls.js: prediction) and the server's ticks only correct it.
//
// Coordinates are tiles (floats): tile (col, row) covers [col, col+1) x [row, row+1).

import "pixi.js/unsafe-eval"; // the server's CSP has no 'unsafe-eval': Pixi must not build shaders with new Function
import { Application, Container, Graphics, Rectangle, Sprite, Text } from "pixi.js";
import { loadArt } from "./art.js";
import { loadRoomMap } from "./tilemap.js";

export const TILE = 32;
const BUBBLE_MS = 6000;
const EMOTE_MS = 2500;
const TELEPORT_TILES = 4; // farther than this in one tick: jump, do not glide
const MIN_SCALE = 0.8; // the smallest zoom: a room too big for the view is shown at this scale
const FIGURE = 1.3; // avatars are drawn a bit larger than a tile
const HEAD = TILE * 1.1 * FIGURE; // from the feet to above the head
const LABEL_Y = TILE * 0.2; // a name's top, below the feet
const LABEL_LAYOUT_MAX = 200; // more people than this in view: names may overlap (the pass is quadratic)

const SPRITE_ORDER = ["pants", "shirt", "skin", "hair", "sash", "base"]; // back to front
const INTERACTIVE = new Set(["notice_board", "fountain", "bookshelf"]);

/** A stable colour from an id, for people who have not picked their looks. */
function hashColor(id, salt) {
  let h = 2166136261;
  for (const ch of `${salt}:${id}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  const hue = Math.abs(h) % 360;
  return hslToHex(hue, salt === "body" ? 35 : 60, salt === "body" ? 70 : 50);
}

function hslToHex(h, s, l) {
  s /= 100;
  l /= 100;
  const k = (n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)))));
  return (f(0) << 16) | (f(8) << 8) | f(4);
}

function color(value, fallback) {
  if (typeof value === "string" && /^#[0-9a-fA-F]{6}$/.test(value)) return parseInt(value.slice(1), 16);
  return fallback;
}

/** Move rectangle `r` vertically (to `away(o)`) off every rectangle in `placed` it overlaps, at most `tries` rounds. */
function clearOf(r, placed, away, tries) {
  for (let moved = true, k = 0; moved && k < tries; k++) {
    moved = false;
    for (const o of placed) {
      if (r.x < o.x + o.w && o.x < r.x + r.w && r.y < o.y + o.h && o.y < r.y + r.h) {
        r.y = away(o);
        moved = true;
      }
    }
  }
}

class Body {
  constructor(view, p) {
    this.view = view;
    this.id = p.id;
    this.kind = p.kind || "user";
    this.node = new Container();
    this.node.eventMode = "static";
    this.node.cursor = "pointer";
    this.node.hitArea = new Rectangle(-TILE * 0.55, -HEAD, TILE * 1.1, HEAD + TILE * 0.6);
    this.node.on("pointertap", (e) => {
      e.stopPropagation();
      view.onSelect?.(this.id);
    });
    this.figure = new Graphics(); // the hat (and the whole figure while the sprites load)
    this.figure.scale.set(FIGURE);
    this.sprite = new Container();
    this.dir = "down";
    this.walked = 0;
    this.label = new Text({
      text: "",
      style: { fontFamily: "system-ui, sans-serif", fontSize: 12, fill: 0xffffff, fontWeight: "600", align: "center" },
    });
    this.label.anchor.set(0.5, 0);
    this.label.y = LABEL_Y;
    this.labelBg = new Graphics();
    this.overhead = new Container(); // bubble and emote: over the map's top layer (awnings, tree tops), never under it
    this.overhead.eventMode = "none";
    this.node.addChild(this.sprite, this.figure, this.labelBg, this.label);
    view.overhead.addChild(this.overhead);
    this.x = p.x;
    this.y = p.y;
    this.from = { x: p.x, y: p.y };
    this.to = { x: p.x, y: p.y };
    this.start = 0;
    this.dur = 1;
    this.bubble = null;
    this.emoteNode = null;
    this.update(p);
    this.place();
  }

  update(p) {
    this.kind = p.kind || this.kind;
    this.name = p.name || "?";
    this.appearance = p.appearance || {};
    this.draw();
  }

  draw() {
    const a = this.appearance;
    const npc = this.kind === "npc";
    const me = this.id === this.view.meId;
    const skin = color(a.body, hashColor(this.id, "body"));
    const shirt = color(a.shirt, hashColor(this.id, "shirt"));
    const hair = color(a.hair, 0x3b2a20);
    const pants = color(a.pants, 0x33415c);
    const g = this.figure.clear();
    const art = this.view.art;
    if (art) {
      this.drawSprite(art, { skin, shirt, hair, pants, sash: 0xffd166 }, npc);
      if (me) g.ellipse(0, 0, TILE * 0.36, TILE * 0.13).stroke({ color: 0xffd166, width: 2 });
      this.drawHat(g, a.hat);
      this.drawLabel(npc, me);
      return;
    }
    // shadow, and a ring under the person playing
    g.ellipse(0, 0, TILE * 0.34, TILE * 0.12).fill({ color: 0x000000, alpha: 0.25 });
    if (me) g.ellipse(0, 0, TILE * 0.42, TILE * 0.16).stroke({ color: 0xffd166, width: 2 });
    // legs, torso, head, hair
    g.roundRect(-TILE * 0.18, -TILE * 0.3, TILE * 0.36, TILE * 0.3, 3).fill(pants);
    g.roundRect(-TILE * 0.24, -TILE * 0.62, TILE * 0.48, TILE * 0.38, 6).fill(shirt);
    g.circle(0, -TILE * 0.8, TILE * 0.2).fill(skin);
    g.arc(0, -TILE * 0.82, TILE * 0.21, Math.PI, 2 * Math.PI).fill(hair);
    this.drawHat(g, a.hat);
    if (npc) {
      // residents wear a badge: a small gold diamond on the chest
      g.poly([0, -TILE * 0.56, TILE * 0.08, -TILE * 0.46, 0, -TILE * 0.36, -TILE * 0.08, -TILE * 0.46])
        .fill(0xffd166)
        .stroke({ color: 0x7a5c00, width: 1 });
    }
    this.drawLabel(npc, me);
  }

  /** The sprite layers, tinted with the person's colours; residents wear a gold sash. */
  drawSprite(art, tints, npc) {
    this.sprite.removeChildren().forEach((c) => c.destroy());
    this.layers = {};
    const [ax, ay] = art.avatar.anchor;
    for (const layer of SPRITE_ORDER) {
      if (layer === "sash" && !npc) continue;
      const s = new Sprite(art.avatar.frames[layer][this.dir][0]);
      s.x = -ax;
      s.y = -ay;
      if (layer !== "base") s.tint = tints[layer];
      this.sprite.addChild(s);
      this.layers[layer] = s;
    }
  }

  /** Facing and walking frame from the way the body moved. */
  pose(dx, dy) {
    const art = this.view.art;
    if (!art || !this.layers) return;
    const dist = Math.hypot(dx, dy);
    if (dist > 0.001) {
      this.dir = Math.abs(dx) > Math.abs(dy) ? (dx < 0 ? "left" : "right") : dy < 0 ? "up" : "down";
      this.walked += dist;
    }
    const walk = art.avatar.walk;
    const frame = dist > 0.001 ? walk[Math.floor(this.walked * 3) % walk.length] : 0;
    for (const [layer, s] of Object.entries(this.layers)) s.texture = art.avatar.frames[layer][this.dir][frame];
  }

  drawLabel(npc, me) {
    this.label.text = npc ? `${this.name} ◆` : this.name;
    this.label.style.fill = npc ? 0xffe29a : me ? 0xffffff : 0xe8f1ff;
    const w = this.label.width + 8;
    const h = this.label.height + 2;
    this.labelBg.clear().roundRect(-w / 2, LABEL_Y - 1, w, h, 4).fill({ color: npc ? 0x3d2e00 : 0x101820, alpha: 0.7 });
  }

  drawHat(g, hat) {
    const top = -TILE * 1.0;
    switch (hat) {
      case "straw":
        g.ellipse(0, top + 4, TILE * 0.32, TILE * 0.07).fill(0xe9c46a);
        g.roundRect(-TILE * 0.14, top - 4, TILE * 0.28, 8, 3).fill(0xe9c46a);
        break;
      case "cap":
        g.arc(0, top + 6, TILE * 0.2, Math.PI, 2 * Math.PI).fill(0xd62828);
        g.roundRect(0, top + 3, TILE * 0.3, 4, 2).fill(0xd62828);
        break;
      case "beanie":
        g.arc(0, top + 7, TILE * 0.21, Math.PI, 2 * Math.PI).fill(0x457b9d);
        g.circle(0, top - 1, 3).fill(0xf1faee);
        break;
      case "top":
        g.rect(-TILE * 0.25, top + 3, TILE * 0.5, 3).fill(0x111111);
        g.rect(-TILE * 0.15, top - 10, TILE * 0.3, 13).fill(0x111111);
        break;
      case "crown":
        g.poly([-9, top + 5, -9, top - 5, -4, top, 0, top - 7, 4, top, 9, top - 5, 9, top + 5]).fill(0xffc300);
        break;
      case "flower":
        g.circle(TILE * 0.14, top + 5, 4).fill(0xff70a6);
        g.circle(TILE * 0.14, top + 5, 1.5).fill(0xffe066);
        break;
      default:
        break;
    }
  }

  /** A new server position: glide there over about one tick. */
  moveTo(x, y, now, dur) {
    const dist = Math.hypot(x - this.x, y - this.y);
    if (dist > TELEPORT_TILES) {
      this.x = x;
      this.y = y;
      this.from = { x, y };
    } else {
      this.from = { x: this.x, y: this.y };
    }
    this.to = { x, y };
    this.start = now;
    this.dur = dur;
  }

  /** Put the body where it is now (called every frame). */
  step(now) {
    const ox = this.x;
    const oy = this.y;
    let going = false;
    if (!this.local) {
      const f = Math.min(1, (now - this.start) / this.dur);
      this.x = this.from.x + (this.to.x - this.from.x) * f;
      this.y = this.from.y + (this.to.y - this.from.y) * f;
      going = f < 1;
    }
    this.pose(this.x - ox, this.y - oy);
    this.place();
    this.stepEmote(now);
    return going;
  }

  place() {
    this.node.x = this.x * TILE;
    this.node.y = this.y * TILE;
    this.node.zIndex = this.y;
    this.overhead.x = this.node.x;
    this.overhead.y = this.node.y;
  }

  /** Move the name (and its backing) down by `dy` pixels from its usual place under the feet. */
  shiftLabel(dy) {
    this.label.y = LABEL_Y + dy;
    this.labelBg.y = dy;
  }

  say(text) {
    if (this.bubble) this.bubble.destroy({ children: true });
    const shown = text.length > 120 ? `${text.slice(0, 117)}…` : text;
    const t = new Text({
      text: shown,
      style: { fontFamily: "system-ui, sans-serif", fontSize: 12, fill: 0x111111, wordWrap: true, wordWrapWidth: 170, breakWords: true },
    });
    const pad = 6;
    const box = new Graphics()
      .roundRect(0, 0, t.width + pad * 2, t.height + pad * 2, 8)
      .fill({ color: 0xffffff, alpha: 0.95 })
      .stroke({ color: 0x1d3557, width: 1 });
    box.poly([t.width / 2 + pad - 5, t.height + pad * 2, t.width / 2 + pad + 5, t.height + pad * 2, t.width / 2 + pad, t.height + pad * 2 + 6])
      .fill({ color: 0xffffff, alpha: 0.95 });
    t.x = pad;
    t.y = pad;
    const bubble = new Container();
    bubble.addChild(box, t);
    bubble.x = -(t.width + pad * 2) / 2;
    bubble.y = -HEAD - (t.height + pad * 2 + 6);
    bubble.baseY = bubble.y; // where it sits alone; layoutBubbles() lifts it over an earlier neighbour's
    bubble.born = performance.now();
    this.overhead.addChild(bubble);
    this.bubble = bubble;
    const mine = bubble;
    setTimeout(() => {
      if (this.bubble === mine) {
        mine.destroy({ children: true });
        this.bubble = null;
        this.view.invalidate();
      }
    }, BUBBLE_MS);
  }

  emote(name) {
    if (this.emoteNode) this.emoteNode.destroy({ children: true });
    // A drawn icon (no emoji font needed) over the word.
    const t = new Container();
    const icon = this.view.art?.emotes?.[name];
    if (icon) {
      const s = new Sprite(icon);
      s.anchor.set(0.5, 1);
      s.y = -14;
      t.addChild(s);
    }
    const word = new Text({
      text: this.view.words?.emote?.(name) || name,
      style: { fontFamily: "system-ui, sans-serif", fontSize: 12, fill: 0xffffff, stroke: { color: 0x000000, width: 3 } },
    });
    word.anchor.set(0.5, 1);
    t.addChild(word);
    t.y = this.bubble ? this.bubble.y - 4 : -HEAD; // above the bubble, wherever layoutBubbles() put it
    this.overhead.addChild(t);
    this.emoteNode = t;
    this.emoteStarted = performance.now();
    this.view.animateFor(EMOTE_MS + 50);
  }

  /** The floating emote, per frame; gone after EMOTE_MS. */
  stepEmote(now) {
    const t = this.emoteNode;
    if (!t || t.destroyed) return;
    const k = (now - this.emoteStarted) / EMOTE_MS;
    if (k >= 1) {
      t.destroy({ children: true });
      this.emoteNode = null;
      return;
    }
    t.alpha = 1 - Math.max(0, k - 0.7) / 0.3;
    t.y = (this.bubble ? this.bubble.y - 4 : -HEAD) - 10 * k;
  }

  destroy() {
    this.node.destroy({ children: true });
    this.overhead.destroy({ children: true });
  }
}

export class RoomView {
  /** host: the element the canvas goes in. onWalk(x, y): a floor click; onSelect(id): a body click. */
  constructor(host, { onWalk, onSelect, onUse, token } = {}) {
    this.host = host;
    this.onWalk = onWalk;
    this.onSelect = onSelect;
    this.onUse = onUse; // an interactive object of the map was clicked (notice board, fountain, bookshelf)
    this.onThings = null; // (things) => the room's interactive objects, once its map is drawn (for a keyboard/touch list)
    this.token = token;
    this.art = null;
    this.bodies = new Map();
    this.room = null;
    this.meId = null;
    this.tickMs = 100; // measured spacing of world:tick
    this._lastTickAt = 0;
    this.ready = false;
  }

  async init() {
    const app = new Application();
    const opts = {
      resizeTo: this.host,
      background: 0x1b2631,
      antialias: true,
      autoDensity: true,
      resolution: Math.min(window.devicePixelRatio || 1, 2),
      preference: ["webgl", "canvas"],
      // Software WebGL (no GPU) costs more than the 2D canvas: take the canvas renderer then.
      failIfMajorPerformanceCaveat: true,
      autoStart: false, // drawn on demand (see loop): an idle room costs nothing
    };
    try {
      await app.init(opts);
    } catch (e) {
      console.warn("WebGL renderer failed, using the canvas renderer", e);
      await app.init({ ...opts, preference: "canvas" });
    }
    this.app = app;
    const canvas = app.canvas;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "The room. Click a tile to walk there; use the arrow keys or WASD to walk.");
    canvas.classList.add("room-canvas");
    this.host.append(canvas);
    this.world = new Container();
    this.world.sortableChildren = false;
    this.floor = new Graphics();
    this.floor.eventMode = "static";
    this.floor.cursor = "pointer";
    this.floor.on("pointertap", (e) => {
      const p = this.world.toLocal(e.global);
      this.onWalk?.(p.x / TILE, p.y / TILE);
    });
    this.marker = new Graphics();
    this.layer = new Container();
    this.layer.sortableChildren = true;
    this.mapBelow = new Container();
    this.mapBelow.eventMode = "none";
    this.mapAbove = new Container();
    this.mapAbove.eventMode = "none";
    this.things = new Container(); // hit areas of the map's interactive objects
    this.overhead = new Container(); // every body's bubble and emote, drawn last
    this.overhead.eventMode = "none";
    this.world.addChild(this.floor, this.mapBelow, this.things, this.marker, this.layer, this.mapAbove, this.overhead);
    this.art = await loadArt();
    app.stage.addChild(this.world);
    app.ticker.stop();
    // The view follows its box (window resizes, the layout around it changing).
    this._resizer = new ResizeObserver(() => {
      this.app?.resize();
      this.invalidate();
      this.onResized?.();
    });
    this._resizer.observe(this.host);
    this.ready = true;
    this.invalidate();
  }

  get rendererName() {
    return this.app?.renderer?.name || "none";
  }

  setRoom(room, meId) {
    this.invalidate();
    for (const b of this.bodies.values()) b.destroy();
    this.bodies.clear();
    this.room = room;
    this.meId = meId;
    this.marker.clear();
    this.drawFloor();
    this.loadMap(room);
  }

  /** The room's Tiled map replaces the plain floor once it has loaded. */
  async loadMap(room) {
    for (const c of [this.mapBelow, this.mapAbove, this.things]) c.removeChildren().forEach((x) => x.destroy({ children: true }));
    this.host.dataset.map = "loading";
    if (!room.map) return;
    let built;
    try {
      built = await loadRoomMap(room.map, this.token, TILE);
    } catch (e) {
      console.warn("room map did not load; drawing the plain floor", e);
      this.host.dataset.map = "plain";
      return;
    }
    if (this.room !== room || !this.app) return; // another room meanwhile
    this.mapBelow.addChild(built.below);
    this.mapAbove.addChild(built.above);
    this.mapAbove.alpha = 0.92; // a hint of who walks under the trees and awnings
    const usable = [];
    for (const o of built.objects) {
      const kind = o.class || o.type;
      if (!INTERACTIVE.has(kind)) continue;
      const hit = new Graphics().rect(o.x, o.y, Math.max(o.width, TILE), Math.max(o.height, TILE)).fill({ color: 0xffffff, alpha: 0.001 });
      hit.eventMode = "static";
      hit.cursor = "help";
      const props = Object.fromEntries((o.properties || []).map((p) => [p.name, p.value]));
      hit.on("pointertap", (e) => {
        e.stopPropagation();
        this.onUse?.({ name: o.name, kind, ...props });
      });
      this.things.addChild(hit);
      usable.push({ name: o.name, kind, ...props });
    }
    this.onThings?.(usable);
    this.floor.clear();
    this.host.dataset.map = "tiled";
    this.invalidate();
  }

  drawFloor() {
    const { width, height } = this.room;
    const tiles = this.room.tiles || [];
    const g = this.floor.clear();
    g.rect(0, 0, width * TILE, height * TILE).fill(0x7fb069);
    for (let row = 0; row < height; row++) {
      const line = tiles[row] || "";
      for (let col = 0; col < width; col++) {
        const blocked = line[col] === "#";
        if (blocked) {
          g.rect(col * TILE, row * TILE, TILE, TILE).fill(0x5c5f66);
          g.rect(col * TILE + 2, row * TILE + 2, TILE - 4, TILE - 6).fill(0x767a83);
        } else if ((row + col) % 2 === 0) {
          g.rect(col * TILE, row * TILE, TILE, TILE).fill({ color: 0x8cbf75, alpha: 0.6 });
        }
      }
    }
    g.rect(0, 0, width * TILE, height * TILE).stroke({ color: 0x2d3a2e, width: 3 });
    this.floor.hitArea = new Rectangle(0, 0, width * TILE, height * TILE);
  }

  isBlocked(x, y) {
    if (!this.room) return true;
    const row = Math.floor(y);
    const col = Math.floor(x);
    const line = (this.room.tiles || [])[row];
    return !!line && line[col] === "#";
  }

  upsert(p) {
    this.invalidate();
    const b = this.bodies.get(p.id);
    if (b) {
      b.update(p);
      if (Math.hypot(b.to.x - p.x, b.to.y - p.y) > 0.01) b.moveTo(p.x, p.y, performance.now(), this.tickMs);
      return;
    }
    const body = new Body(this, p);
    this.bodies.set(p.id, body);
    this.layer.addChild(body.node);
  }

  remove(id) {
    this.invalidate();
    const b = this.bodies.get(id);
    if (!b) return;
    b.destroy();
    this.bodies.delete(id);
  }

  /** world:tick moves: [[id, x, y, t?], ...] */
  tick(moves) {
    this.ticks = (this.ticks || 0) + 1; // lets the keyboard tell ticks sent after a reply from older ones
    this.invalidate();
    const now = performance.now();
    if (this._lastTickAt) {
      const gap = now - this._lastTickAt;
      if (gap < 400) this.tickMs = Math.max(40, Math.min(250, this.tickMs * 0.8 + gap * 0.2));
    }
    this._lastTickAt = now;
    for (const [id, x, y] of moves) {
      const b = this.bodies.get(id);
      if (b?.local) {
        b.server = { x, y }; // walking ahead of the server: its ticks only check on us (setLocal)
        b.to = { x, y };
      } else if (b) b.moveTo(x, y, now, this.tickMs * 1.1);
      if (id === this.meId && this._target && Math.hypot(x - this._target.x, y - this._target.y) < 0.05) {
        this.marker.clear();
        this._target = null;
      }
    }
  }

  /** Keyboard prediction: draw my body at (x, y) now, whatever the server's ticks say. */
  setLocal(id, x, y) {
    const b = this.bodies.get(id);
    if (!b) return;
    b.local = true;
    b.x = x;
    b.y = y;
    this.invalidate();
  }

  /** Back to the server's positions, gliding from where the body is drawn. */
  releaseLocal(id) {
    const b = this.bodies.get(id);
    if (!b?.local) return;
    b.local = false;
    const s = b.server || { x: b.x, y: b.y };
    b.from = { x: b.x, y: b.y };
    b.to = { x: s.x, y: s.y };
    b.start = performance.now();
    b.dur = this.tickMs;
    this.invalidate();
  }

  clearTarget() {
    this.invalidate();
    this._target = null;
    this.marker.clear();
  }

  showTarget(x, y) {
    this.invalidate();
    this._target = { x, y };
    this.marker.clear().circle(x * TILE, y * TILE, 6).stroke({ color: 0xffd166, width: 2 });
  }

  say(id, text) {
    this.invalidate();
    this.bodies.get(id)?.say(text);
  }

  emote(id, name) {
    this.invalidate();
    this.bodies.get(id)?.emote(name);
  }

  position(id) {
    const b = this.bodies.get(id);
    return b ? { x: b.x, y: b.y, tx: b.to.x, ty: b.to.y, local: !!b.local, server: b.server || b.to } : null;
  }

  /** Something changed: draw on the next animation frame (and keep drawing while bodies glide). */
  invalidate() {
    if (this._frameRequested || !this.app) return;
    this._frameRequested = true;
    requestAnimationFrame(() => {
      this._frameRequested = false;
      this.frame();
    });
  }

  frame() {
    if (!this.app || !this.room) return;
    const now = performance.now();
    let moving = false;
    for (const b of this.bodies.values()) moving = b.step(now) || moving;
    this.layoutBubbles();
    this.layoutLabels();
    const me = this.bodies.get(this.meId);
    if (me) this.host.dataset.me = `${me.x.toFixed(3)},${me.y.toFixed(3)}`; // where I am drawn (tests read it)
    this.fit();
    this.app.render();
    if (moving || now < this._animateUntil || [...this.bodies.values()].some((b) => b.local)) this.invalidate();
  }

  /** Two people side by side who both speak: the later bubble goes above the earlier one, never over it. */
  layoutBubbles() {
    const shown = [...this.bodies.values()]
      .filter((b) => b.bubble && !b.bubble.destroyed)
      .sort((a, b) => a.bubble.born - b.bubble.born);
    const placed = [];
    for (const b of shown) {
      const bub = b.bubble;
      const r = { x: b.overhead.x + bub.x, y: b.overhead.y + bub.baseY, w: bub.width, h: bub.height };
      clearOf(r, placed, (o) => o.y - r.h - 2, 8);
      bub.y = r.y - b.overhead.y;
      placed.push(r);
    }
    // where the bubbles are drawn, in room pixels (the browser tests read it)
    if (placed.length) this.host.dataset.bubbles = placed.map((r) => [r.x, r.y, r.w, r.h].map(Math.round).join(",")).join(";");
    else delete this.host.dataset.bubbles;
  }

  /** People side by side: a name that would cover another's goes just below it (residents and you keep your place). */
  layoutLabels() {
    const bodies = [...this.bodies.values()];
    if (bodies.length > LABEL_LAYOUT_MAX) {
      for (const b of bodies) b.shiftLabel(0);
      delete this.host.dataset.labels;
      return;
    }
    const rank = (b) => (b.kind === "npc" ? 0 : b.id === this.meId ? 1 : 2);
    bodies.sort((a, b) => rank(a) - rank(b) || a.x - b.x || (a.id < b.id ? -1 : 1));
    const placed = [];
    for (const b of bodies) {
      const w = b.label.width + 8;
      const h = b.label.height + 2;
      const r = { x: b.node.x - w / 2, y: b.node.y + LABEL_Y - 1, w, h };
      clearOf(r, placed, (o) => o.y + o.h + 1, 6);
      b.shiftLabel(r.y - (b.node.y + LABEL_Y - 1));
      placed.push(r);
    }
    // where the names are drawn, in room pixels (the browser tests read it)
    this.host.dataset.labels = placed.map((r) => [r.x, r.y, r.w, r.h].map(Math.round).join(",")).join(";");
  }

  /** Keep drawing for a while (a floating emote). */
  animateFor(ms) {
    this._animateUntil = Math.max(this._animateUntil || 0, performance.now() + ms);
    this.invalidate();
  }

  /** The most tiles the view shows ([w, h]: at the smallest zoom, where large rooms are shown); null before layout. */
  tilesShown() {
    const px = TILE * MIN_SCALE;
    const { clientWidth: w, clientHeight: h } = this.host;
    return w > 0 && h > 0 ? [Math.ceil(w / px), Math.ceil(h / px)] : null;
  }

  /** Fit the room in the view; in a room too big for it, follow the player. */
  fit() {
    const vw = this.app.screen.width;
    const vh = this.app.screen.height;
    const ww = this.room.width * TILE;
    const wh = this.room.height * TILE;
    let scale = Math.min(vw / ww, vh / wh);
    scale = Math.max(MIN_SCALE, Math.min(scale, 2));
    scale = Math.floor(scale * TILE) / TILE; // whole pixels per tile: no seams between tiles
    this.world.scale.set(scale);
    const sw = ww * scale;
    const sh = wh * scale;
    const me = this.bodies.get(this.meId);
    const cx = (me ? me.x * TILE : ww / 2) * scale;
    const cy = (me ? me.y * TILE : wh / 2) * scale;
    this.world.x = Math.round(sw <= vw ? (vw - sw) / 2 : Math.min(0, Math.max(vw - sw, vw / 2 - cx)));
    this.world.y = Math.round(sh <= vh ? (vh - sh) / 2 : Math.min(0, Math.max(vh - sh, vh / 2 - cy)));
    // Where tiles are on screen (tests and tools click tiles with it): scale and offset in CSS pixels.
    const view = `${scale.toFixed(4)},${this.world.x.toFixed(1)},${this.world.y.toFixed(1)}`;
    if (this.host.dataset.view !== view) this.host.dataset.view = view;
  }

  destroy() {
    this._resizer?.disconnect();
    this.app?.destroy(true, { children: true });
    this.app = null;
  }
}
