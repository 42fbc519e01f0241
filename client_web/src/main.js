// The world client: log in, connect, join a room, and wire the server's events to the
// renderer and the panels. The server is authoritative: the client sends intentions (move
// targets, lines, purchases) and draws what the server says happened.

import "./styles.css";
import {
  WorldConnection,
  clearSession,
  describeError,
  lastRoom,
  loadSession,
  rememberRoom,
  saveSession,
  setLanguages,
} from "./net.js";
import { AssistantPanel } from "./panels/assistant.js";
import { EventsPanel } from "./panels/events.js";
import { renderAuth } from "./panels/auth.js";
import { ChatPanel, EMOTES } from "./panels/chat.js";
import { PeoplePanel } from "./panels/people.js";
import { editProfile } from "./panels/profile.js";
import { reportDialog } from "./panels/report.js";
import { chooseRoom } from "./panels/rooms.js";
import { hasShop, openShop } from "./panels/shop.js";
import { Wallet } from "./panels/wallet.js";
import { clear, confirmDialog, el, formatCoins, formatDateTime, formatTime, openDialog, toast } from "./ui.js";
import { keyboardWalking } from "./world/controls.js";
import { RoomView } from "./world/renderer.js";
import { doorMessage, useThing } from "./world/things.js";

const root = document.getElementById("app");

const EMOTE_WORDS = {
  wave: "waves", dance: "dances", laugh: "laughs", cheer: "cheers", clap: "claps",
  sit: "sits down", nod: "nods", shrug: "shrugs", bow: "bows", think: "is thinking",
};

function showAuth(notice = "") {
  clear(root);
  root.removeAttribute("aria-busy");
  document.title = "Townsquare";
  renderAuth(
    root,
    (result, remember) => {
      saveSession(result, remember);
      new World(result).start();
    },
    { notice },
  );
}

class World {
  constructor({ token, user }) {
    this.token = token;
    this.me = {
      id: user?.id,
      username: user?.username,
      role: user?.role || "user",
      language: user?.language || "en",
      display_name: user?.username,
      appearance: {},
    };
    this.room = null;
    this.joining = false;
    this.choosing = false;
    this.sessionSeen = false;
    this.muteTimer = null;
  }

  async start() {
    const conn = (this.conn = new WorldConnection(this.token));
    const meFn = () => this.me;
    this.wallet = new Wallet(conn);
    this.people = new PeoplePanel({
      me: meFn,
      actions: {
        whisper: (p) => this.chat.whisper(p),
        tip: (p) => this.wallet.tip(p),
        report: (p) => reportDialog(conn, { user_id: p.id }, p.name),
        talk: (p) => this.chat.whisper(p),
        hasShop: (p) => hasShop(conn, p),
        shop: (p) => openShop(conn, p, this.wallet),
      },
    });
    this.chat = new ChatPanel({
      conn,
      me: meFn,
      people: this.people,
      onSay: (id, text) => id && this.view?.say(id, text),
    });
    this.assistant = new AssistantPanel({
      conn,
      chat: this.chat,
      onJoin: (snapshot) => (this.applySnapshot(snapshot), rememberRoom(snapshot.room.slug)),
      onWalk: ({ x, y }) => this.view?.showTarget(x, y),
    });
    this.happening = new EventsPanel({ conn, room: () => this.room?.slug });
    this.buildLayout();
    this.view = new RoomView(this.canvasHost, {
      onWalk: (x, y) => this.walkTo(x, y),
      onUse: (thing) => useThing(thing, this.conn),
      token: this.token,
      onSelect: (id) => this.people.open(id),
    });
    await this.view.init();
    this.stage.dataset.renderer = this.view.rendererName;
    this.stopKeys = keyboardWalking(this.view, (x, y, o) => this.move(x, y, o), () => this.me.id);
    this.wire();
    conn.connect();
  }

  buildLayout() {
    clear(root);
    root.removeAttribute("aria-busy");
    this.roomTitle = el("h2", { class: "room-title", id: "room-title" }, "No room");
    this.connStatus = el("span", { class: "conn-status", role: "status", dataset: { state: "connecting" } }, "Connecting…");
    this.offline = el("div", { class: "offline-banner", role: "alert", hidden: true }, "You are offline. Reconnecting…");
    this.muted = el("p", { class: "muted-banner", role: "status", hidden: true });
    const menu = el(
      "nav",
      { class: "menu", "aria-label": "Menu" },
      el("button", { type: "button", class: "secondary", onclick: () => this.pickRoom() }, "Rooms"),
      el("button", { type: "button", class: "secondary", onclick: () => this.wallet.inventory() }, "Inventory"),
      el("button", { type: "button", class: "secondary", onclick: () => this.profile() }, "Profile"),
      el("button", { type: "button", class: "secondary", onclick: () => this.logout() }, "Log out"),
    );
    this.canvasHost = el("div", { class: "canvas-host", tabindex: "0", "aria-label": "Room view: arrow keys or WASD walk", "aria-describedby": "room-help" });
    const emotes = el(
      "div",
      { class: "emotes", role: "toolbar", "aria-label": "Emotes" },
      EMOTES.map((name) => el("button", { type: "button", class: "emote", onclick: () => this.emote(name) }, name)),
    );
    this.stage = el(
      "section",
      { class: "stage", "aria-labelledby": "room-title" },
      this.canvasHost,
      el("p", { id: "room-help", class: "help" }, "Click a tile to walk there, or use the arrow keys / WASD. Click someone to whisper, tip or shop."),
      emotes,
    );
    this.chat.form.before(this.muted);
    root.append(
      el(
        "header",
        { class: "topbar" },
        el("h1", { class: "brand" }, "Townsquare"),
        this.roomTitle,
        el("div", { class: "topbar-right" }, this.connStatus, this.wallet.element, menu),
      ),
      this.offline,
      el("main", { class: "world" }, this.stage, el("aside", { class: "side", "aria-label": "People and chat" }, this.people.element, this.chat.element, this.assistant.element, this.happening.element)),
    );
  }

  wire() {
    const c = this.conn;
    c.on("status", ({ state }) => this.setStatus(state));
    c.on("refused", ({ code, message }) => {
      clearSession();
      this.teardown();
      showAuth(code === "banned" ? describeError({ code, message }) : "Your session ended. Please log in again.");
    });
    c.on("session", (data) => {
      this.sessionSeen = true;
      setLanguages(data?.languages);
      this.translation = data?.translation || null;
      this.chat.setTranslation(this.translation);
      // Active mutes, so the banner shows before the person tries to speak.
      const mute = (data?.sanctions || []).find((s) => s.kind === "mute");
      if (mute) this.setMuted({ until: mute.until, reason: mute.reason });
      if (data?.user) {
        this.me.id = data.user.id;
        this.me.username = data.user.username;
        this.me.role = data.user.role;
        this.me.language = data.user.language;
      }
      if (data?.avatar) {
        this.me.display_name = data.avatar.display_name;
        this.me.appearance = data.avatar.appearance || {};
      }
      this.enterFirstRoom(data?.avatar?.room);
    });
    c.on("reconnected", () => {
      this.wallet.refresh();
      const slug = this.room?.slug || lastRoom();
      if (slug) this.join(slug, { quiet: true });
    });
    c.on("presence:join", (p) => {
      if (!this.room || !p || (p.room && p.room !== this.room.slug)) return; // late, from the room we left
      const isNew = this.people.upsert(p);
      this.view.upsert(p);
      if (isNew && p.id !== this.me.id) this.chat.system(`${p.name} ${p.kind === "npc" ? "(resident) " : ""}came in.`);
      this.chat.refreshTargets();
    });
    c.on("presence:leave", ({ id, room } = {}) => {
      if (room && this.room && room !== this.room.slug) return;
      const p = this.people.remove(id);
      this.view.remove(id);
      if (p && id !== this.me.id) this.chat.system(`${p.name} left.`);
      this.chat.refreshTargets();
    });
    c.on("world:tick", (d) => {
      if (!this.room || d?.room !== this.room.slug) return;
      this.view.tick(d.moves || []);
      this.people.moved(d.moves || []);
    });
    c.on("chat:message", (m) => {
      if (!this.room || (m.room && m.room !== this.room.slug && !m.to)) return;
      this.chat.add(m);
    });
    c.on("chat:translation", (t) => this.chat.translation(t));
    c.on("room:door", (d) => {
      // Walked onto a door: the server joined us to the room behind it, or says why not.
      if (!d || !this.room || d.from !== this.room.slug) return;
      if (d.ok) {
        this.applySnapshot(d);
        rememberRoom(d.room.slug);
      } else {
        const text = doorMessage(d);
        toast(text, "warn", 5000);
        this.chat.system(text, "error");
      }
    });
    c.on("emote", ({ id, name, room } = {}) => {
      if (room && this.room && room !== this.room.slug) return;
      this.view.emote(id, name);
      const who = id === this.me.id ? "You" : this.people.name(id) || "Someone";
      this.chat.system(`${who} ${id === this.me.id ? name : EMOTE_WORDS[name] || name}.`);
    });
    c.on("wallet:update", (d) => this.wallet.update(d, (id) => this.people.name(id)));
    c.on("moderation:notice", (d) => this.moderationNotice(d || {}));
    c.on("npc:offer", (offer) => offer?.offer_id && this.offer(offer));
    c.on("npc:sale", (d) => this.sale(d || {}));
    c.on("kicked", (d) => this.kicked(d || {}));
    c.on("room:left", (d) => {
      if (!this.room || d?.room !== this.room.slug) return;
      const why = { replaced: "you joined from another tab", banned: "you were banned from it", kicked: "a moderator removed you", uninvited: "your invitation was withdrawn" }[d.reason] || d.reason || "";
      this.leftRoom();
      this.pickRoom(`You left ${d.room}${why ? `: ${why}` : ""}.`);
    });
    // If the server never sends `session` (an older server), decide from what we have.
    setTimeout(() => {
      if (!this.sessionSeen && this.conn.online) this.enterFirstRoom(null);
    }, 2500);
  }

  setStatus(state) {
    const words = { connecting: "Connecting…", online: "Online", offline: "Offline", closed: "Disconnected" }[state] || state;
    this.connStatus.textContent = words;
    this.connStatus.dataset.state = state;
    this.offline.hidden = state === "online" || state === "connecting" || state === "closed";
    document.body.classList.toggle("is-offline", state === "offline");
    if (state === "online") this.wallet.refresh();
  }

  async enterFirstRoom(avatarRoom) {
    if (this.room || this.joining || this.choosing) return;
    const slug = lastRoom() || avatarRoom;
    if (slug && (await this.join(slug, { quiet: true }))) return;
    this.pickRoom();
  }

  async pickRoom(reason = "") {
    if (this.choosing) return;
    this.choosing = true;
    const slug = await chooseRoom(this.conn, { current: this.room?.slug, reason });
    this.choosing = false;
    if (slug) await this.join(slug);
    else if (!this.room) this.chat.system("Choose a room from the Rooms menu to go in.");
  }

  async join(slug, { quiet = false } = {}) {
    this.joining = true;
    const reply = await this.conn.request("room:join", { room: slug });
    this.joining = false;
    if (!reply.ok) {
      const words = describeError(reply.error);
      if (!quiet || reply.error?.code !== "not_found") toast(`Could not go in: ${words}`, "error");
      this.chat.system(`Could not go in: ${words}`, "error");
      if (reply.error?.code === "not_found" || reply.error?.code === "forbidden" || reply.error?.code === "banned") rememberRoom(null);
      return false;
    }
    this.applySnapshot(reply);
    rememberRoom(reply.room.slug);
    return true;
  }

  applySnapshot(r) {
    this.happening.refresh();
    this.room = r.room;
    if (r.you?.id) this.me.id = r.you.id;
    this.view.setRoom(r.room, this.me.id);
    const everyone = [...(r.occupants || []), ...(r.npcs || [])];
    for (const p of everyone) this.view.upsert(p);
    const mine = everyone.find((p) => p.id === this.me.id);
    if (mine) {
      this.me.display_name = mine.name;
      this.me.appearance = mine.appearance || {};
    }
    this.people.reset(everyone);
    this.chat.setHistory(r.history || []);
    this.chat.refreshTargets();
    this.roomTitle.textContent = r.room.name;
    this.stage.dataset.room = r.room.slug;
    document.title = `${r.room.name} · Townsquare`;
    if (r.room.description) this.chat.system(r.room.description);
    this.chat.system(`You are in ${r.room.name}.`);
    this.translationNotice();
  }

  /** Once per visit, where the world has no translation model: say so plainly instead of marking every line. */
  translationNotice() {
    const t = this.translation;
    if (!t || t.available || this.translationNoticed) return;
    this.translationNoticed = true;
    this.chat.system(t.words || "This world does not translate chat: lines from others are shown as written.", "info");
  }

  leftRoom() {
    this.room = null;
    this.roomTitle.textContent = "No room";
    delete this.stage.dataset.room;
    this.people.reset([]);
    rememberRoom(null);
  }

  walkTo(x, y) {
    if (!this.room) return;
    const tx = Math.min(Math.floor(x) + 0.5, this.room.width - 1);
    const ty = Math.min(Math.floor(y) + 0.5, this.room.height - 1);
    if (x < 0 || y < 0 || x >= this.room.width || y >= this.room.height) return;
    if (this.view.isBlocked(tx, ty)) {
      toast("You cannot walk there.", "warn", 2000);
      return;
    }
    this.move(tx, ty, { marker: true });
  }

  async move(x, y, { marker = false } = {}) {
    if (!this.room) return;
    const reply = await this.conn.request("move", { x: Math.round(x * 100) / 100, y: Math.round(y * 100) / 100 });
    if (!reply.ok) {
      if (marker) this.view.clearTarget();
      if (reply.error?.code !== "rate_limited") toast(describeError(reply.error), "warn", 2500);
      return;
    }
    if (marker) this.view.showTarget(reply.x, reply.y);
  }

  async emote(name) {
    if (!this.room) return;
    const reply = await this.conn.request("emote", { name });
    if (!reply.ok) toast(describeError(reply.error), "warn");
  }

  async profile() {
    const saved = await editProfile(this.conn, this.me);
    if (!saved) return;
    const languageChanged = saved.language !== this.me.language;
    this.me.display_name = saved.display_name;
    this.me.language = saved.language;
    this.me.appearance = saved.appearance || {};
    if (languageChanged && this.room) this.join(this.room.slug, { quiet: true }); // history again, in the new language
  }

  moderationNotice(d) {
    const until = d.until ? ` until ${formatDateTime(d.until)}` : "";
    const where = d.room ? ` in ${d.room}` : "";
    const reason = d.reason ? `: ${d.reason}` : "";
    let text;
    let kind = "warn";
    switch (d.action) {
      case "warn":
        text = `A moderator warned you${reason}`;
        break;
      case "mute":
        text = `You are muted${where}${until || " until a moderator lifts it"}${reason}. You can read but not write.`;
        this.setMuted(d);
        break;
      case "kick":
        text = `You were removed${where}${reason}`;
        break;
      case "ban":
        text = `You are banned${where}${until}${reason}`;
        break;
      case "lift":
        text = `Your ${d.lifted || "sanction"}${where} was lifted${reason}`;
        kind = "info";
        if (d.lifted === "mute") this.setMuted(null);
        break;
      case "report_resolved":
        text = `Your report was reviewed: ${d.outcome === "upheld" ? "action was taken" : "no rule was broken"}${d.reason && d.reason !== "action was taken" && d.reason !== "no rule was broken" ? ` (${d.reason})` : ""}.`;
        kind = "info";
        break;
      default:
        text = `Moderation${reason || `: ${d.action}`}`;
    }
    this.chat.system(text, kind);
    toast(text, kind === "info" ? "info" : "warn", 8000);
  }

  /** A resident offers a sale (npc:offer): nothing is paid until the person confirms. */
  async offer(o) {
    const cur = o.currency || this.wallet.currency;
    const each = o.qty > 1 ? ` (${formatCoins(o.price, cur)} each)` : "";
    this.chat.system(`${o.npc?.name || "A resident"} offers you ${o.qty} × ${o.name} for ${formatCoins(o.total, cur)}.`);
    const yes = await confirmDialog(
      `${o.npc?.name || "A resident"} offers a sale`,
      `Buy ${o.qty} × ${o.name} for ${formatCoins(o.total, cur)}${each}? Your balance: ${formatCoins(this.wallet.balance ?? 0, cur)}.${o.expires_at ? ` The offer ends at ${formatTime(o.expires_at)}.` : ""}`,
      `Pay ${formatCoins(o.total, cur)}`,
      "No, thanks",
    );
    const reply = await this.conn.request(yes ? "npc:confirm" : "npc:decline", { offer_id: o.offer_id });
    if (!reply.ok) {
      toast(`The sale did not go through: ${describeError(reply.error)}`, "error");
      return;
    }
    if (yes) {
      this.wallet.set(reply.balance);
      toast(`You bought ${o.qty} × ${o.name}.`, "ok");
    }
  }

  sale(d) {
    if (d.status === "sold") this.chat.system("The sale is done: the item is in your inventory.");
    else if (d.status === "declined") this.chat.system("You declined the offer.");
    else if (d.status === "failed") this.chat.system(`The sale failed: ${describeError(d.error)}`, "error");
  }

  setMuted(d) {
    clearTimeout(this.muteTimer);
    if (!d) {
      this.muted.hidden = true;
      this.muted.textContent = "";
      return;
    }
    const until = d.until ? new Date(d.until) : null;
    this.muted.textContent = `You are muted${until ? ` until ${formatTime(d.until)}` : ""}${d.reason ? `: ${d.reason}` : ""}`;
    this.muted.hidden = false;
    if (until) {
      const ms = until.getTime() - Date.now();
      if (ms > 0 && ms < 2 ** 31) this.muteTimer = setTimeout(() => this.setMuted(null), ms);
    }
  }

  kicked(d) {
    this.leftRoom();
    openDialog("You were removed", (close) =>
      el(
        "div",
        { class: "dialog-body" },
        el("p", { role: "alert" }, `A moderator removed you from the world${d.reason ? `: ${d.reason}` : "."}`),
        el(
          "div",
          { class: "dialog-actions" },
          el("button", { type: "button", class: "secondary", onclick: () => { close(); this.logout(); } }, "Log out"),
          el("button", { type: "button", class: "primary", onclick: () => { close(); this.conn.kicked = null; this.conn.socket.connect(); } }, "Come back"),
        ),
      ),
    );
  }

  teardown() {
    this.stopKeys?.();
    this.conn?.close();
    this.view?.destroy();
  }

  logout() {
    this.teardown();
    clearSession();
    rememberRoom(null);
    showAuth();
  }
}

const session = loadSession();
if (session) new World(session).start();
else showAuth();
