// Walking with the keyboard: arrow keys or WASD. While a key is held, a target a little ahead
// is sent a few times a second (the server walks the avatar); letting go sends "stop here".

const KEYS = {
  ArrowUp: [0, -1], KeyW: [0, -1],
  ArrowDown: [0, 1], KeyS: [0, 1],
  ArrowLeft: [-1, 0], KeyA: [-1, 0],
  ArrowRight: [1, 0], KeyD: [1, 0],
};
const SEND_MS = 150;
const LEAD = 1.5; // tiles ahead of the avatar

function typing(target) {
  const tag = target?.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target?.isContentEditable || !!document.querySelector("dialog[open]");
}

/** view: RoomView; walk(x, y): sends `move`; meId(): my id. Returns a function that stops listening. */
export function keyboardWalking(view, walk, meId) {
  const held = new Set();
  let timer = null;

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

  function send() {
    const dir = direction();
    const me = view.position(meId());
    if (!dir || !me || !view.room) return;
    for (const lead of [LEAD, 1, 0.5]) {
      const x = Math.min(Math.max(me.x + dir[0] * lead, 0), view.room.width - 1);
      const y = Math.min(Math.max(me.y + dir[1] * lead, 0), view.room.height - 1);
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
    held.add(e.code);
    send();
    if (!timer) timer = setInterval(send, SEND_MS);
  }

  function onUp(e) {
    if (!held.delete(e.code)) return;
    if (held.size) return;
    clearInterval(timer);
    timer = null;
    const me = view.position(meId());
    if (me) walk(me.tx, me.ty, { keyboard: true }); // stop where the server has us now
  }

  function onBlur() {
    held.clear();
    clearInterval(timer);
    timer = null;
  }

  window.addEventListener("keydown", onDown);
  window.addEventListener("keyup", onUp);
  window.addEventListener("blur", onBlur);
  return () => {
    onBlur();
    window.removeEventListener("keydown", onDown);
    window.removeEventListener("keyup", onUp);
    window.removeEventListener("blur", onBlur);
  };
}
