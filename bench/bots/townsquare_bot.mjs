// Node load bots for bench/realtime.py (`--bots node`): one OS process each, started by the
// harness, a port of bench/realtime_bots.py's worker() with the same semantics:
// - SAMPLE clients per process are socket.io-client sockets (one connection each: forceNew) that
//   decode every world:frame (wire 2) or world:tick (wire 1) and record move-to-seen latency
//   (receive time minus the echoed `t`) for other bodies' entries whose `t` lies in the window.
// - The others speak Socket.IO v5 over a raw `ws` WebSocket (connect with auth, acked room:join,
//   engine.io pings answered) and only count the frames they receive, without decoding them.
// - Everyone moves at RATE Hz from t0 (first move at a random phase), a random step of 0.05-0.4
//   tiles on each axis (reflected at the bounds, positions to 1/100), its send time in `t` (seconds,
//   4 decimals); wire 2 tags moves with `s` (acks folded), wire 1 asks a Socket.IO ack per move;
//   with acks "none" (wire 2) moves carry neither, as the Colyseus peer's bots send theirs.
// Protocol with the harness (line-delimited JSON): argv[2] is a config file (url, wid, tokens file,
// the bot args); stdout gets {"type":"ready",...}, then stdin gives t0 (epoch seconds, <= 0: abort),
// then stdout gets {"type":"result",...} with the latencies written as float64 to `lat_file`.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const require = createRequire(new URL('../../client_web/package.json', import.meta.url));
const { io } = require('socket.io-client');
const { WebSocket } = require('ws');

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { url, wid, args } = cfg;
const tokens = JSON.parse(readFileSync(cfg.tokens_file, 'utf8'));
const ROOM = 'bench';
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const now = () => (performance.timeOrigin + performance.now()) / 1000; // epoch seconds, sub-ms
const sleep = (s) => new Promise((r) => setTimeout(r, Math.max(0, s * 1000)));
const uniform = (a, b) => a + Math.random() * (b - a);

const idle = args.idle;
const room = args.room || ROOM;
const wire = args.wire || 1;
const acked = args.acks !== 'none'; // 'none': moves are fire-and-forget (wire 2), the peer's way
const [loX, loY, hiX, hiY] = args.bounds || [2, 2, 190, 190];
const view = args.view || null; // [w, h]: the interest shape; null: everyone sees everyone
const join = wire === 2 ? { room, wire: 2 } : { room };
const nSample = idle ? 0 : Math.min(args.sample, tokens.length);
const rate = args.rate;
const TIMEOUT = args.timeout * 1000;
const win = [0, 0];
let lat = new Float64Array(1 << 16);
let latN = 0;
const st = { sent: 0, recv: 0, ticks: 0, disc: 0 };
const sentBy = {};
const sampled = []; // [socket, me]
const raws = [];
let failed = 0;

function addLat(v) {
  if (latN === lat.length) { const b = new Float64Array(lat.length * 2); b.set(lat); lat = b; }
  lat[latN++] = v;
}

// A minimal Socket.IO v5 client over `ws` (the same library socket.io-client uses in Node).
class RawClient {
  constructor(token) {
    this.token = token; this.frames = 0; this.ackId = 0; this.pending = new Map();
    this.closed = false; this.x = 0; this.y = 0; this.uid = null; this.ws = null;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const u = url.replace('http://', 'ws://') + '/socket.io/?EIO=4&transport=websocket';
      const ws = new WebSocket(u, { perMessageDeflate: false, handshakeTimeout: TIMEOUT });
      this.ws = ws;
      let stage = 0;
      const timer = setTimeout(() => { reject(new Error('connect timeout')); ws.terminate(); }, TIMEOUT);
      ws.on('error', (e) => { clearTimeout(timer); reject(e); });
      ws.on('close', () => { this.closed = true; clearTimeout(timer); reject(new Error('closed')); });
      ws.on('message', (data) => {
        if (stage === 2) return this.read(data);
        const s = data.toString();
        if (stage === 0) {
          if (s[0] !== '0') { clearTimeout(timer); reject(new Error('no engine.io open packet')); return; }
          stage = 1;
          ws.send('40' + JSON.stringify({ token: this.token }));
        } else if (s.startsWith('40')) {
          stage = 2; clearTimeout(timer); resolve();
        } else if (s.startsWith('44')) {
          clearTimeout(timer); reject(new Error('refused: ' + s));
        }
      });
    });
  }

  read(data) { // count, answer pings, resolve acks; decode nothing else
    this.frames++;
    if (data.length === 1 && data[0] === 0x32) this.ws.send('3');
    else if (data[0] === 0x34 && data[1] === 0x33 && this.pending.size) {
      const s = data.toString();
      const i = s.indexOf('[');
      const p = this.pending.get(Number(s.slice(2, i)));
      if (p) { this.pending.delete(Number(s.slice(2, i))); p(JSON.parse(s.slice(i))[0]); }
    }
  }

  call(event, data) {
    const id = ++this.ackId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error('ack timeout')); }, TIMEOUT);
      this.pending.set(id, (r) => { clearTimeout(timer); resolve(r); });
      this.ws.send(`42${id}` + JSON.stringify([event, data]));
    });
  }

  move(x, y, t) {
    const id = ++this.ackId; // acked like every client event; the ack is counted as a frame, not awaited
    if (wire === 2) this.ws.send(acked ? `42["move",{"x":${x},"y":${y},"t":${t},"s":${id}}]` : `42["move",{"x":${x},"y":${y},"t":${t}}]`);
    else this.ws.send(`42${id}["move",{"x":${x},"y":${y},"t":${t}}]`);
  }

  close() { try { this.ws.close(); } catch { /* gone */ } }
}

function onPresenceOf(me, p) {
  if (p && p.n !== undefined) { me.ids.set(p.n, p.id); me.pos.set(p.n, [p.x, p.y]); }
}

function makeSampled(token, me) {
  const c = io(url, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true,
    timeout: TIMEOUT, perMessageDeflate: false, autoConnect: false });
  c.on('world:tick', (d) => {
    st.ticks++;
    const t1 = now(); const [w0, w1] = win; const mine = me.id;
    for (const m of d.moves) {
      if (m.length > 3 && m[0] !== mine && w0 <= m[3] && m[3] < w1) { addLat(t1 - m[3]); st.recv++; }
    }
  });
  c.on('world:frame', (d) => {
    st.ticks++;
    const t1 = now(); const [w0, w1] = win; const mine = me.n; const pos = me.pos;
    for (const part of ['m', 'f']) {
      const flat = d[part] || [];
      for (let i = 0; i + 2 < flat.length; i += 3) pos.set(flat[i], [flat[i + 1] / 100, flat[i + 2] / 100]); // hundredths
    }
    if (view !== null && me.inner === null && t1 >= w0) {
      // The bodies well inside my view as the window opens: their moves must all reach me.
      const [x, y] = pos.get(mine) || [me.x, me.y];
      me.inner = new Set();
      for (const [n, [bx, by]] of pos) {
        if (n !== mine && Math.abs(bx - x) <= view[0] / 2 && Math.abs(by - y) <= view[1] / 2) me.inner.add(n);
      }
    }
    const inner = me.inner; const e = d.e;
    for (let i = 0; i + 1 < e.length; i += 2) {
      const n = e[i]; const t = d.t - e[i + 1] / 1000; // echoed as ms before the frame's t
      if (n !== mine && w0 <= t && t < w1 && (inner === null || inner.has(n))) { addLat(t1 - t); st.recv++; }
    }
  });
  c.on('presence:join', (p) => onPresenceOf(me, p));
  c.on('disconnect', () => { st.disc++; });
  return c;
}

// At most `connect_concurrency` connects in flight, like the Python bots' semaphore.
let slots = args.connect_concurrency;
const waiters = [];
async function withSlot(fn) {
  if (slots > 0) slots--; else await new Promise((r) => waiters.push(r));
  try { return await fn(); } finally { const w = waiters.shift(); if (w) w(); else slots++; }
}

async function connectSampled(token) {
  const me = { id: null, n: null, x: 0, y: 0, ids: new Map(), pos: new Map(), inner: null };
  const c = makeSampled(token, me);
  await withSlot(async () => {
    try {
      await new Promise((resolve, reject) => {
        c.once('connect', resolve);
        c.once('connect_error', reject);
        c.connect();
      });
      const r = await c.timeout(TIMEOUT).emitWithAck('room:join', join);
      if (!r || !r.ok) throw new Error(JSON.stringify(r));
      Object.assign(me, { id: r.you.id, x: r.you.x, y: r.you.y, n: r.you.n ?? null });
      for (const p of r.occupants) onPresenceOf(me, p);
      sampled.push([c, me]);
    } catch {
      failed++;
      try { c.disconnect(); } catch { /* gone */ }
    }
  });
}

const idleRooms = args.idle_rooms; // idle shapes: undefined: all in `room`; []: never join; [slugs]: spread

async function connectRaw(token, i) {
  const c = new RawClient(token);
  await withSlot(async () => {
    try {
      await c.connect();
      if (Array.isArray(idleRooms) && idleRooms.length === 0) { raws.push(c); return; }
      const here = Array.isArray(idleRooms) ? { ...join, room: idleRooms[i % idleRooms.length] } : join;
      const r = await c.call('room:join', here);
      if (!r || !r.ok) throw new Error(JSON.stringify(r));
      c.x = r.you.x; c.y = r.you.y; c.uid = r.you.id;
      raws.push(c);
    } catch {
      failed++;
      c.close();
    }
  });
}

function readT0() {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    const timer = setTimeout(() => resolve(-1), args.ready_timeout * 1000);
    rl.once('line', (l) => { clearTimeout(timer); resolve(Number(l)); rl.close(); }); // close emits 'close' at once
    rl.once('close', () => resolve(-1));
  });
}

function step(p, lo, hi) {
  const d = uniform(0.05, 0.4) * (Math.random() < 0.5 ? -1 : 1);
  let v = p + d;
  if (v < lo || v > hi) v = p - d;
  return Math.round(v * 100) / 100;
}

async function main() {
  const started = now();
  await Promise.all([...tokens.slice(0, nSample).map((t) => connectSampled(t)),
    ...tokens.slice(nSample).map((t, i) => connectRaw(t, i))]);
  out({ type: 'ready', wid, connected: sampled.length + raws.length, failed, secs: now() - started });

  const t0 = await readT0();
  if (!(t0 > 0)) { out({ type: 'result', wid, result: null }); return finish(); }
  win[0] = t0 + args.warmup;
  win[1] = win[0] + args.duration;
  const stopAt = win[1];
  const period = 1 / rate;
  const ownSent = []; // per sampled client, its moves in the window
  const timers = new Set();

  function mover(send, pos, counter, who) {
    let nxt = t0 + uniform(0, period);
    const tick = () => {
      const t = now();
      if (t >= stopAt) return;
      pos.x = step(pos.x, loX, hiX); pos.y = step(pos.y, loY, hiY);
      try { send(pos.x, pos.y, Math.round(t * 1e4) / 1e4); } catch { return; }
      if (win[0] <= t && t < win[1]) {
        st.sent++;
        if (who !== null && who !== undefined) sentBy[who] = (sentBy[who] || 0) + 1;
        if (counter) counter[0]++;
      }
      nxt += period;
      if (nxt < now()) nxt = now() + period; // fell behind: skip, do not burst
      schedule();
    };
    const schedule = () => {
      const h = setTimeout(() => { timers.delete(h); tick(); }, Math.max(0, (nxt - now()) * 1000));
      timers.add(h);
    };
    schedule();
  }

  if (!idle) {
    for (const [c, me] of sampled) {
      const counter = [0];
      ownSent.push(counter);
      let s = 0;
      const send = wire === 2
        ? (x, y, t) => { c.emit('move', acked ? { x, y, t, s: ++s } : { x, y, t }); }
        : (x, y, t) => { c.emit('move', { x, y, t }, () => {}); };
      mover(send, me, counter, me.id);
    }
    for (const c of raws) {
      if (c.closed) continue;
      mover((x, y, t) => c.move(x, y, t), { x: c.x, y: c.y }, null, c.uid);
    }
  }
  const lag = [];
  (async () => {
    while (now() < stopAt) {
      const a = performance.now();
      await sleep(0.05);
      lag.push((performance.now() - a) / 1000 - 0.05);
    }
  })();

  const snap = {};
  const snapshot = async (at, key) => {
    await sleep(at - now());
    snap[key] = [raws.reduce((a, c) => a + c.frames, 0), st.ticks];
  };
  await Promise.all([snapshot(win[0], 'start'), snapshot(win[1], 'end')]);
  await sleep(args.grace); // let ticks of the window's last moves arrive
  for (const h of timers) clearTimeout(h);
  lag.sort((a, b) => a - b);
  writeFileSync(cfg.lat_file, Buffer.from(lat.buffer, 0, latN * 8));
  out({ type: 'result', wid, result: {
    wid, connected: sampled.length + raws.length, failed, sampled: sampled.length,
    sent: st.sent, own_sent: ownSent.map((c) => c[0]), recv: st.recv,
    raw_frames: snap.end[0] - snap.start[0], raw_clients: raws.length,
    sampled_ticks: snap.end[1] - snap.start[1],
    disconnects: st.disc + raws.filter((c) => c.closed).length,
    loop_lag_p99_ms: lag.length ? lag[Math.floor(0.99 * (lag.length - 1))] * 1e3 : null,
    lat_file: cfg.lat_file, lat_n: latN,
    sent_by: view !== null ? sentBy : {},
    inner: view !== null ? sampled.map(([, me]) => [...(me.inner || [])].map((n) => me.ids.get(n) ?? null)) : [],
  } });
  return finish();
}

async function finish() {
  for (const [c] of sampled) { try { c.disconnect(); } catch { /* gone */ } }
  for (const c of raws) c.close();
  await sleep(1);
  process.exit(0);
}

setTimeout(() => process.exit(2), (args.ready_timeout * 2 + args.warmup + args.duration + 120) * 1000).unref();
main().catch((e) => { out({ type: 'error', wid, error: String(e && e.stack || e) }); process.exit(1); });
