// Walking with the keyboard: arrow keys or WASD, with client-side prediction. While a key is
// held, my avatar moves at once, at the server's speed, every animation frame (sliding along
// walls the way the map says); a target a little ahead of it goes to the server ten times a
// second, so the server walks without pausing. On release the server is sent exactly where the
// avatar stands: it walks there, the prediction hands back to the server's ticks, no jump back.

const KEYS = {
  ArrowUp: [0, -1], KeyW: [0, -1],
  ArrowDown: [0, 1], KeyS: [0, 1],
  ArrowLeft: [-1, 0], KeyA: [-1, 0],
  ArrowRight: [1, 0], KeyD: [1, 0],
};
const SEND_MS = 100;
const LEAD_S = 0.25; // the target sent runs this far ahead (in seconds of walking) of the prediction
const DRIFT = 1.5; // tiles between prediction and server beyond which the server wins

function typing(target) {
  const tag = target?.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target?.isContentEditable || !!document.querySelector("dialog[open]");
}

/** view: RoomView; walk(x, y, opts): sends `move`; meId(): my id. Returns a function that stops listening. */
export function keyboardWalking(view, walk, meId) {
  const held = new Set();
  let timer = null;
  let pos = null; // the predicted position while keys are held or the server catches up
  let last = 0;
  let settle = null; // after release: where the server was sent to stop, and when
  let room = null; // the room the prediction is in (a door changes it)
  let looping = false;
  let lastDir = [0, 0];

  function direction() {
    let dx = 0;
    let dy = 0;
    for (const code of held) {
      dx += KEYS[code][0];
      dy += KEYS[code][1];
    }
    const len = Math.hypot(dx, dy);
    return len ? [dx / len, dy / len] : null;
  }

  const speed = () => view.room?.speed || 6;

  function clampRoom(x, y) {
    return [Math.min(Math.max(x, 0), view.room.width - 1), Math.min(Math.max(y, 0), view.room.height - 1)];
  }

  /** One step from pos toward (x, y), sliding along a wall when the way straight on is blocked. */
  function stepTo(x, y) {
    for (const [nx, ny] of [[x, y], [x, pos.y], [pos.x, y]]) {
      if (!view.isBlocked(nx, ny)) return [nx, ny];
    }
    return [pos.x, pos.y];
  }

  function frame(now) {
    const id = meId();
    if (!view.room || !pos) {
      looping = false;
      return;
    }
    if (view.room !== room) {
      // Through a door: start again from where the server put us in the new room.
      const me = view.position(id);
      room = view.room;
      if (!me) {
        looping = false;
        return;
      }
      pos = { x: me.x, y: me.y };
    }
    // A frame's timestamp may predate the keydown that started the loop: never a negative step.
    const dt = Math.max(0, Math.min(0.25, (now - last) / 1000));
    last = Math.max(last, now);
    const dir = direction();
    if (dir) {
      lastDir = dir;
      const d = speed() * dt;
      [pos.x, pos.y] = stepTo(...clampRoom(pos.x + dir[0] * d, pos.y + dir[1] * d));
      view.setLocal(id, pos.x, pos.y);
      const server = view.position(id)?.server;
      if (server && Math.hypot(server.x - pos.x, server.y - pos.y) > DRIFT + speed() * 0.5) {
        pos = { x: server.x, y: server.y }; // the server disagrees for real (a wall we did not know): it wins
      }
    } else if (settle) {
      // Only ticks after the server took the stop count: before it, the server still walks toward
      // the last target sent (ahead of us) and passing our spot on the way is not standing there.
      const server = view.position(id)?.server;
      const fresh = settle.ackTick !== null && (view.ticks || 0) > settle.ackTick;
      const there = fresh && (!server || Math.hypot(server.x - settle.x, server.y - settle.y) < 0.05);
      if (there || now - settle.at > 3000) {
        view.releaseLocal(id); // the server stands where we do: its ticks drive the body again
        settle = null;
        pos = null;
        looping = false;
        return;
      }
    }
    requestAnimationFrame(frame);
  }

  function send() {
    const dir = direction();
    if (!dir || !pos || !view.room) return;
    const lead = speed() * LEAD_S;
    for (const k of [1, 0.5, 0]) {
      const [x, y] = clampRoom(pos.x + dir[0] * lead * k, pos.y + dir[1] * lead * k);
      if (!view.isBlocked(x, y)) {
        walk(x, y, { keyboard: true });
        return;
      }
    }
  }

  function onDown(e) {
    if (!(e.code in KEYS) || typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    if (held.has(e.code)) return;
    const start = !held.size;
    held.add(e.code);
    if (start) {
      const me = view.position(meId());
      if (!me || !view.room) return;
      if (!pos || room !== view.room) pos = { x: me.x, y: me.y };
      room = view.room;
      settle = null;
      last = performance.now();
      if (!looping) {
        looping = true;
        requestAnimationFrame(frame);
      }
    }
    send();
    if (!timer) timer = setInterval(send, SEND_MS);
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    if (!pos) return;
    // A slow page (frames far apart) can leave the prediction behind the server: stop where the
    // server is then, ahead of us, so the avatar never steps back.
    const server = view.position(meId())?.server;
    if (server && (server.x - pos.x) * lastDir[0] + (server.y - pos.y) * lastDir[1] > 0) pos = { x: server.x, y: server.y };
    // The server keeps hundredths: round onward, the way we were going, never back.
    const onward = (v, d) => (d > 0 ? Math.ceil(v * 100) : d < 0 ? Math.floor(v * 100) : Math.round(v * 100)) / 100;
    let x = onward(pos.x, lastDir[0]);
    let y = onward(pos.y, lastDir[1]);
    if (view.isBlocked(x, y)) [x, y] = [Math.round(pos.x * 100) / 100, Math.round(pos.y * 100) / 100];
    pos = { x, y };
    const stopping = { x, y, at: performance.now(), ackTick: null };
    settle = stopping;
    view.setLocal(meId(), x, y);
    // Stop exactly where the avatar is drawn; a refused stop (rate limited) is sent once more.
    const sent = (reply) => {
      if (settle !== stopping) return;
      if (reply && !reply.ok && reply.error?.code === "rate_limited" && !stopping.retried) {
        stopping.retried = true;
        setTimeout(() => { if (settle === stopping) Promise.resolve(walk(x, y, { keyboard: true })).then(sent, sent); }, SEND_MS);
        return;
      }
      stopping.ackTick = view.ticks || 0;
    };
    Promise.resolve(walk(x, y, { keyboard: true })).then(sent, sent);
  }

  function onUp(e) {
    if (!held.delete(e.code)) return;
    if (!held.size) stop();
  }

  function onBlur() {
    if (!held.size) return;
    held.clear();
    stop();
  }

  window.addEventListener("keydown", onDown);
  window.addEventListener("keyup", onUp);
  window.addEventListener("blur", onBlur);
  return () => {
    held.clear();
    clearInterval(timer);
    window.removeEventListener("keydown", onDown);
    window.removeEventListener("keyup", onUp);
    window.removeEventListener("blur", onBlur);
  };
}
