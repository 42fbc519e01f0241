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
import { browserUiLanguage, currentLanguage, setLanguage, t } from "./i18n.js";
import { AssistantPanel } from "./panels/assistant.js";
import { EventsPanel } from "./panels/events.js";
import { renderAuth } from "./panels/auth.js";
import { ChatPanel, EMOTES } from "./panels/chat.js";
import { PeoplePanel } from "./panels/people.js";
import { editProfile } from "./panels/profile.js";
import { reportDialog } from "./panels/report.js";
import { chooseRoom } from "./panels/rooms.js";
import { hasShop, openShop } from "./panels/shop.js";
import { Tour } from "./panels/tour.js";
import { Wallet } from "./panels/wallet.js";
import { ChatDrawer } from "./phone.js";
import { clear, confirmDialog, el, formatCoins, formatDateTime, formatTime, openDialog, setChildren, toast } from "./ui.js";
import { keyboardWalking } from "./world/controls.js";
import { RoomView } from "./world/renderer.js";
import { doorMessage, title, useThing } from "./world/things.js";

const root = document.getElementById("app");

function showAuth(notice = "") {
  clear(root);
  root.removeAttribute("aria-busy");
  document.title = t("app.name");
  renderAuth(
    root,
    (result, remember) => {
      saveSession(result, remember);
      setLanguage(result.user?.language);
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
    setLanguage(this.me.language); // the interface speaks the account's language
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
    this.wallet.onHistory = () => this.tour?.checkedWallet();
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
      ready: () => !!this.room && !this.joining,
      onSent: () => this.tour?.said(),
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
      onUse: (thing) => useThing(thing, this.conn, this.wallet),
      token: this.token,
      onSelect: (id) => this.people.open(id),
    });
    this.view.onThings = (things) => this.showThings(things);
    this.view.words = { emote: (name) => (EMOTES.includes(name) ? t(`emotes.name.${name}`) : name) }; // over the head, in the reader's language
    await this.view.init();
    conn.viewTiles = () => this.view.tilesShown(); // sent with each room:join, and when the screen changes
    this.view.onResized = () => conn.viewChanged();
    this.stage.dataset.renderer = this.view.rendererName;
    this.stopKeys = keyboardWalking(this.view, (x, y, o) => this.move(x, y, o), () => this.me.id);
    this.wire();
    conn.connect();
  }

  buildLayout() {
    clear(root);
    root.removeAttribute("aria-busy");
    this.roomTitle = el("h2", { class: "room-title", id: "room-title" }, t("world.no_room"));
    this.connStatus = el("span", { class: "conn-status", role: "status", dataset: { state: "connecting" } }, t("status.connecting"));
    this.offline = el("div", { class: "offline-banner", role: "alert", hidden: true }, t("status.offline_banner"));
    this.muted = el("p", { class: "muted-banner", role: "status", hidden: true });
    const menu = el(
      "nav",
      { class: "menu", "aria-label": t("menu.label") },
      el("button", { type: "button", class: "secondary", dataset: { action: "rooms" }, onclick: () => this.pickRoom() }, t("menu.rooms")),
      el("button", { type: "button", class: "secondary", dataset: { action: "inventory" }, onclick: () => this.wallet.inventory() }, t("menu.inventory")),
      el("button", { type: "button", class: "secondary", dataset: { action: "profile" }, onclick: () => this.profile() }, t("menu.profile")),
      el("button", { type: "button", class: "secondary", dataset: { action: "logout" }, onclick: () => this.logout() }, t("menu.logout")),
    );
    this.canvasHost = el("div", { class: "canvas-host", tabindex: "0", "aria-label": t("world.view_label"), "aria-describedby": "room-help" });
    const emotes = el(
      "div",
      { class: "emotes", role: "toolbar", "aria-label": t("emotes.label") },
      EMOTES.map((name) => el("button", { type: "button", class: "emote", dataset: { emote: name }, onclick: () => this.emote(name) }, t(`emotes.name.${name}`))),
    );
    this.stage = el(
      "section",
      { class: "stage", "aria-labelledby": "room-title" },
      this.canvasHost,
      el("p", { id: "room-help", class: "help" }, t("world.help")),
      emotes,
    );
    // The map's objects as buttons too: for the keyboard, screen readers and thumbs.
    // Always laid out (empty until the map is drawn): the room view's size never shifts under a click.
    this.thingsBar = el("div", { class: "things", role: "toolbar", "aria-label": t("things.label") });
    emotes.before(this.thingsBar);
    this.chat.form.before(this.muted);
    this.tour = new Tour({
      me: () => this.me,
      room: () => this.room,
      position: () => this.view?.position(this.me.id),
      walkTo: (x, y) => this.walkTo(x, y),
      say: (text) => this.chat.suggest(text),
      wallet: () => this.wallet.history(),
    });
    const side = el("aside", { class: "side", id: "side", "aria-label": t("world.side_label") }, this.people.element, this.chat.element, this.assistant.element, this.happening.element);
    this.drawer = new ChatDrawer(side, this.chat);
    this.drawer.placeTour(this.tour.element, this.stage); // beside the room, never over or above it
    root.append(
      el(
        "header",
        { class: "topbar" },
        el("h1", { class: "brand" }, "Townsquare"),
        this.roomTitle,
        el("div", { class: "topbar-right" }, this.connStatus, this.wallet.element, menu),
      ),
      this.offline,
      el("main", { class: "world" }, this.stage, side),
      this.drawer.dock(menu),
    );
  }

  wire() {
    const c = this.conn;
    c.on("status", ({ state }) => this.setStatus(state));
    c.on("refused", ({ code, message }) => {
      clearSession();
      this.teardown();
      showAuth(code === "banned" ? describeError({ code, message }) : t("status.session_ended"));
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
        if (data.user.language && data.user.language !== currentLanguage() && this.followLanguage(data.user.language)) return;
      }
      if (data?.avatar) {
        this.me.display_name = data.avatar.display_name;
        this.me.appearance = data.avatar.appearance || {};
      }
      if (data?.onboarding) this.tour.offer(data.onboarding);
      this.enterFirstRoom(data?.avatar?.room, data?.onboarding);
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
      if (isNew && p.id !== this.me.id) this.chat.system(t(p.kind === "npc" ? "presence.resident_came_in" : "presence.came_in", { name: p.name }));
      this.chat.refreshTargets();
    });
    c.on("presence:leave", ({ id, room } = {}) => {
      if (room && this.room && room !== this.room.slug) return;
      const p = this.people.remove(id);
      this.view.remove(id);
      if (p && id !== this.me.id) this.chat.system(t("presence.left", { name: p.name }));
      this.chat.refreshTargets();
    });
    c.on("world:tick", (d) => {
      if (!this.room || d?.room !== this.room.slug) return;
      this.view.tick(d.moves || []);
      this.people.moved(d.moves || []);
      this.tour.moved();
    });
    c.on("chat:message", (m) => {
      if (!this.room || (m.room && m.room !== this.room.slug && !m.to)) return;
      this.chat.add(m);
      if (m.from?.id !== this.me.id) this.drawer.unread();
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
      const known = EMOTES.includes(name) ? name : "other";
      if (id === this.me.id) this.chat.system(t(`emotes.self.${known}`, { name }));
      else this.chat.system(t(`emotes.other.${known}`, { who: this.people.name(id) || t("common.someone"), name }));
    });
    c.on("wallet:update", (d) => this.wallet.update(d, (id) => this.people.name(id)));
    c.on("moderation:notice", (d) => this.moderationNotice(d || {}));
    c.on("npc:offer", (offer) => offer?.offer_id && this.offer(offer));
    c.on("npc:sale", (d) => this.sale(d || {}));
    c.on("kicked", (d) => this.kicked(d || {}));
    c.on("room:left", (d) => {
      if (!this.room || d?.room !== this.room.slug) return;
      const known = ["replaced", "banned", "kicked", "uninvited"].includes(d.reason);
      const why = known ? t(`room.left_reason.${d.reason}`) : d.reason || "";
      this.leftRoom();
      this.pickRoom(why ? t("room.left_because", { room: d.room, why }) : t("room.left", { room: d.room }));
    });
    // If the server never sends `session` (an older server), decide from what we have.
    setTimeout(() => {
      if (!this.sessionSeen && this.conn.online) this.enterFirstRoom(null);
    }, 2500);
  }

  setStatus(state) {
    const words = ["connecting", "online", "offline", "closed"].includes(state) ? t(`status.${state}`) : state;
    this.connStatus.textContent = words;
    this.connStatus.dataset.state = state;
    this.offline.hidden = state === "online" || state === "connecting" || state === "closed";
    document.body.classList.toggle("is-offline", state === "offline");
    if (state === "online") this.wallet.refresh();
  }

  /** Where a page starts: the room of this tab, else the avatar's; a newcomer, the guide's room. */
  async enterFirstRoom(avatarRoom, onboarding = null) {
    if (this.room || this.joining || this.choosing) return;
    const slug = lastRoom() || avatarRoom || onboarding?.room;
    if (slug && (await this.join(slug, { quiet: true }))) return;
    this.pickRoom();
  }

  async pickRoom(reason = "") {
    if (this.choosing) return;
    this.choosing = true;
    const slug = await chooseRoom(this.conn, { current: this.room?.slug, reason });
    this.choosing = false;
    if (slug) await this.join(slug);
    else if (!this.room) this.chat.system(t("room.choose_hint"));
  }

  async join(slug, { quiet = false } = {}) {
    this.joining = true;
    const reply = await this.conn.request("room:join", { room: slug });
    this.joining = false;
    if (!reply.ok) {
      const words = t("room.could_not_join", { why: describeError(reply.error) });
      if (!quiet || reply.error?.code !== "not_found") toast(words, "error");
      this.chat.system(words, "error");
      this.chat.joinSettled(false); // a line typed meanwhile stays in the box
      if (reply.error?.code === "not_found" || reply.error?.code === "forbidden" || reply.error?.code === "banned") rememberRoom(null);
      return false;
    }
    this.applySnapshot(reply);
    rememberRoom(reply.room.slug);
    this.chat.joinSettled(true); // a line typed during the join goes out now
    return true;
  }

  applySnapshot(r) {
    this.showThings([]); // the new room's, once its map is drawn
    this.room = r.room;
    this.happening.refresh();
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
    this.chat.system(t("room.you_are_in", { room: r.room.name }));
    this.translationNotice();
    this.tour.entered(r.room);
  }

  showThings(things) {
    setChildren(
      this.thingsBar,
      things.map((thing) =>
        el("button", { type: "button", class: "secondary thing-button", dataset: { kind: thing.kind }, onclick: () => useThing(thing, this.conn, this.wallet) }, title(thing)),
      ),
    );
  }

  /** Once per visit, where the world has no translation model: say so plainly instead of marking every line. */
  translationNotice() {
    const status = this.translation;
    if (!status || status.available || this.translationNoticed) return;
    this.translationNoticed = true;
    this.chat.system(t("chat.no_translation"), "info");
  }

  leftRoom() {
    this.room = null;
    this.roomTitle.textContent = t("world.no_room");
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
      toast(t("world.cannot_walk"), "warn", 2000);
      return;
    }
    this.move(tx, ty, { marker: true });
  }

  async move(x, y, { marker = false } = {}) {
    if (!this.room) return null;
    const reply = await this.conn.request("move", { x: Math.round(x * 100) / 100, y: Math.round(y * 100) / 100 });
    if (!reply.ok) {
      if (marker) this.view.clearTarget();
      if (reply.error?.code !== "rate_limited") toast(describeError(reply.error), "warn", 2500);
      return reply;
    }
    if (marker) this.view.showTarget(reply.x, reply.y);
    return reply;
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
    if (languageChanged && this.followLanguage(saved.language)) return;
    if (languageChanged && this.room) this.join(this.room.slug, { quiet: true }); // history again, in the new language
  }

  /**
   * The account's language changed (the profile, or another device): the interface is built
   * again in it, the way a page load would (the room joined again, its history in that language).
   * Returns false when the interface already speaks it.
   */
  followLanguage(language) {
    const before = currentLanguage();
    setLanguage(language);
    if (currentLanguage() === before) return false;
    rememberUserLanguage(language);
    this.teardown();
    new World({ token: this.token, user: { id: this.me.id, username: this.me.username, role: this.me.role, language } }).start();
    return true;
  }

  moderationNotice(d) {
    const until = d.until ? t("moderation.until", { when: formatDateTime(d.until) }) : "";
    const where = d.room ? t("moderation.in_room", { room: d.room }) : "";
    const reason = d.reason ? `: ${d.reason}` : "";
    const parts = { where, until, reason };
    let text;
    let kind = "warn";
    switch (d.action) {
      case "warn":
        text = t("moderation.warned", parts);
        break;
      case "mute":
        text = t("moderation.muted", { ...parts, until: until || t("moderation.until_lifted") });
        this.setMuted(d);
        break;
      case "kick":
        text = t("moderation.kicked", parts);
        break;
      case "ban":
        text = t("moderation.banned", parts);
        break;
      case "lift": {
        const what = ["mute", "ban"].includes(d.lifted) ? t(`moderation.sanction.${d.lifted}`) : d.lifted || t("moderation.sanction.other");
        text = t("moderation.lifted", { ...parts, what });
        kind = "info";
        if (d.lifted === "mute") this.setMuted(null);
        break;
      }
      case "report_resolved": {
        const outcome = t(d.outcome === "upheld" ? "moderation.upheld" : "moderation.dismissed");
        const note = d.reason && !["action was taken", "no rule was broken"].includes(d.reason) ? ` (${d.reason})` : "";
        text = t("moderation.report_reviewed", { outcome, note });
        kind = "info";
        break;
      }
      default:
        text = reason ? t("moderation.other", { reason }) : t("moderation.other", { reason: `: ${d.action}` });
    }
    this.chat.system(text, kind);
    toast(text, kind === "info" ? "info" : "warn", 8000);
  }

  /** A resident offers a sale (npc:offer): nothing is paid until the person confirms. */
  async offer(o) {
    const cur = o.currency || this.wallet.currency;
    const who = o.npc?.name || t("offer.a_resident");
    const total = formatCoins(o.total, cur);
    const each = o.qty > 1 ? t("offer.each", { price: formatCoins(o.price, cur) }) : "";
    this.chat.system(t("offer.line", { who, qty: o.qty, item: o.name, total }));
    const yes = await confirmDialog(
      t("offer.title", { who }),
      t("offer.question", { qty: o.qty, item: o.name, total, each, balance: formatCoins(this.wallet.balance ?? 0, cur) }) +
        (o.expires_at ? ` ${t("offer.ends", { when: formatTime(o.expires_at) })}` : ""),
      t("offer.pay", { total }),
      t("offer.no"),
    );
    const reply = await this.conn.request(yes ? "npc:confirm" : "npc:decline", { offer_id: o.offer_id });
    if (!reply.ok) {
      toast(t("offer.failed", { why: describeError(reply.error) }), "error");
      return;
    }
    if (yes) {
      this.wallet.set(reply.balance);
      toast(t("shop.bought", { qty: o.qty, item: o.name }), "ok");
    }
  }

  sale(d) {
    if (d.status === "sold") this.chat.system(t("offer.sold"));
    else if (d.status === "declined") this.chat.system(t("offer.declined"));
    else if (d.status === "failed") this.chat.system(t("offer.sale_failed", { why: describeError(d.error) }), "error");
  }

  setMuted(d) {
    clearTimeout(this.muteTimer);
    if (!d) {
      this.muted.hidden = true;
      this.muted.textContent = "";
      return;
    }
    const until = d.until ? new Date(d.until) : null;
    this.muted.textContent = t("moderation.muted_banner", { until: until ? t("moderation.until", { when: formatTime(d.until) }) : "", reason: d.reason ? `: ${d.reason}` : "" });
    this.muted.hidden = false;
    if (until) {
      const ms = until.getTime() - Date.now();
      if (ms > 0 && ms < 2 ** 31) this.muteTimer = setTimeout(() => this.setMuted(null), ms);
    }
  }

  kicked(d) {
    this.leftRoom();
    openDialog(t("kicked.title"), (close) =>
      el(
        "div",
        { class: "dialog-body" },
        el("p", { role: "alert" }, d.reason ? t("kicked.because", { reason: d.reason }) : t("kicked.text")),
        el(
          "div",
          { class: "dialog-actions" },
          el("button", { type: "button", class: "secondary", onclick: () => { close(); this.logout(); } }, t("menu.logout")),
          el("button", { type: "button", class: "primary", onclick: () => { close(); this.conn.kicked = null; this.conn.socket.connect(); } }, t("kicked.come_back")),
        ),
      ),
    );
  }

  teardown() {
    this.stopKeys?.();
    this.drawer?.destroy();
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

/** The stored session's user speaks another language now (kept for the next page load). */
function rememberUserLanguage(language) {
  for (const store of [sessionStorage, localStorage]) {
    const raw = store.getItem("townsquare.user");
    if (!raw) continue;
    try {
      store.setItem("townsquare.user", JSON.stringify({ ...JSON.parse(raw), language }));
    } catch {
      /* a damaged entry: the server's session says the language again */
    }
  }
}

const session = loadSession();
setLanguage(session?.user?.language || browserUiLanguage());
if (session) new World(session).start();
else showAuth();
