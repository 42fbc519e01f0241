// The connection and the wire protocol (design.md section 3): REST login/register, the
// Socket.IO connection with its reconnects, acked requests, and error codes put into words.
// The token lives in sessionStorage (or localStorage with "stay logged in"), never in a URL.

import { io } from "socket.io-client";
import { t } from "./i18n.js";

const TOKEN_KEY = "townsquare.token";
const USER_KEY = "townsquare.user";
const ROOM_KEY = "townsquare.room";
export const ACK_TIMEOUT_MS = 8000;

// Names of languages in their own language; the world's list (server setting `languages`)
// arrives in `session` and replaces LANGUAGES' contents (setLanguages).
const LANGUAGE_NAMES = {
  en: "English", es: "Español", de: "Deutsch", fr: "Français", pt: "Português", it: "Italiano",
  nl: "Nederlands", pl: "Polski", ru: "Русский", uk: "Українська", tr: "Türkçe", ar: "العربية",
  zh: "中文", ja: "日本語", ko: "한국어", hi: "हिन्दी", sv: "Svenska", fi: "Suomi", el: "Ελληνικά",
};
export const LANGUAGES = ["en", "es", "de", "fr", "pt"].map((c) => [c, LANGUAGE_NAMES[c]]);

/** Follow the server's language list (kept in place: panels hold a reference). */
export function setLanguages(codes) {
  if (!Array.isArray(codes) || !codes.length) return;
  LANGUAGES.splice(0, LANGUAGES.length, ...codes.map((c) => [c, LANGUAGE_NAMES[c] || c]));
}

/** The reader's language from the browser ("es-MX" -> "es"), or English. */
export function browserLanguage() {
  const tags = navigator.languages?.length ? navigator.languages : [navigator.language || "en"];
  for (const tag of tags) {
    const base = String(tag).split(/[-_]/)[0].toLowerCase();
    if (LANGUAGES.some(([code]) => code === base)) return base;
  }
  return "en";
}

export function languageName(code) {
  return LANGUAGES.find(([c]) => c === code)?.[1] || code || "?";
}

// Every error code of the protocol, in words a person understands (src/locales: errors.*).
const ERROR_CODES = new Set([
  "invalid_payload", "unauthorized", "forbidden", "not_found", "rate_limited", "room_full", "muted", "banned",
  "insufficient_funds", "frozen", "conflict", "overloaded", "internal", "timeout", "offline", "network",
]);

/** "Words for the code: the server's message" (the message is shown as plain text). */
export function describeError(error) {
  if (!error) return t("errors.unknown");
  const code = error.code || "internal";
  const words = ERROR_CODES.has(code) ? t(`errors.${code}`) : t("errors.other");
  const message = typeof error.message === "string" ? error.message.trim() : "";
  if (!message || message.toLowerCase() === words.toLowerCase()) return words;
  return `${words}: ${message}`;
}

/** A UUID v4 for idempotency keys; also outside secure contexts (plain http on a LAN). */
export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// -- the session (token + user) ---------------------------------------------------------------
function store(remember) {
  return remember ? localStorage : sessionStorage;
}

export function saveSession({ token, user }, remember = false) {
  clearSession();
  store(remember).setItem(TOKEN_KEY, token);
  store(remember).setItem(USER_KEY, JSON.stringify(user || {}));
}

export function loadSession() {
  for (const s of [sessionStorage, localStorage]) {
    const token = s.getItem(TOKEN_KEY);
    if (token) {
      let user = null;
      try {
        user = JSON.parse(s.getItem(USER_KEY) || "null");
      } catch {
        user = null;
      }
      return { token, user };
    }
  }
  return null;
}

export function clearSession() {
  for (const s of [sessionStorage, localStorage]) {
    s.removeItem(TOKEN_KEY);
    s.removeItem(USER_KEY);
  }
}

export function lastRoom() {
  return sessionStorage.getItem(ROOM_KEY);
}

export function rememberRoom(slug) {
  if (slug) sessionStorage.setItem(ROOM_KEY, slug);
  else sessionStorage.removeItem(ROOM_KEY);
}

// -- REST -------------------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
  get words() {
    return describeError({ code: this.code, message: this.message });
  }
}

/** JSON over fetch; a token goes in the Authorization header. Throws ApiError. */
export async function rest(method, path, { body, query, token } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let resp;
  try {
    resp = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError("network", "the server could not be reached");
  }
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const err = data?.error || {};
    const fallback = resp.status === 404 ? "not_found" : resp.status === 403 ? "forbidden" : "internal";
    throw new ApiError(err.code || fallback, err.message || resp.statusText, resp.status);
  }
  return data;
}

let translation = null;

/** {available, words} of GET /api/translation, asked once; null when the server cannot say. */
export function translationStatus() {
  translation ??= rest("GET", "/api/translation").catch(() => null);
  return translation;
}

/** The hint under a Language field: promise translation only where the world translates. */
export async function languageHint(node) {
  const status = await translationStatus();
  if (!status) return;
  node.textContent = status.available ? t("language.hint_translated") : t("language.hint_untranslated");
}

export function register({ username, password, language, display_name }) {
  const body = { username, password, language };
  if (display_name) body.display_name = display_name;
  return rest("POST", "/api/auth/register", { body });
}

export function login({ username, password }) {
  return rest("POST", "/api/auth/login", { body: { username, password } });
}

// -- Socket.IO --------------------------------------------------------------------------------
/**
 * One connection to the world. Emits (through `on`) every server event, plus:
 *   "status" {state: "connecting"|"online"|"offline"|"closed", reason?}
 *   "reconnected" {}  after a reconnect (the app rejoins its room)
 *   "refused" {code, message}  the server refused the token (log in again)
 */
export class WorldConnection {
  constructor(token) {
    this.token = token;
    this.state = "connecting";
    this.closed = false;
    this.kicked = null;
    this._listeners = new Map();
    this._everConnected = false;
    this._retry = null;
    this._numbers = new Map(); // wire 2: body number in the room -> id (presence:join and snapshots give "n")
    this.viewTiles = null; // () => [w, h] tiles the screen shows, or null: set by the app once its view is laid out
    this._viewSent = null; // the view the server has (room:join, view)
    this._viewTimer = null;
    this.socket = io({
      path: "/socket.io",
      auth: { token },
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      randomizationFactor: 0.3,
      timeout: 8000,
      autoConnect: false,
    });
    const s = this.socket;
    s.on("connect", () => {
      clearTimeout(this._retry);
      const again = this._everConnected;
      this._everConnected = true;
      this._setState("online");
      if (again) this._fire("reconnected", {});
    });
    s.on("disconnect", (reason) => {
      if (this.closed) return;
      this._setState("offline", reason);
      // A server-side disconnect is not retried by socket.io itself: retry unless we were kicked.
      if (reason === "io server disconnect" && !this.kicked) this._retryLater(1000);
    });
    s.on("connect_error", (err) => {
      const data = err?.data || {};
      if (data.code === "unauthorized" || data.code === "banned") {
        this.close();
        this._fire("refused", { code: data.code, message: data.message || err.message });
        return;
      }
      this._setState("offline", "connect_error");
      if (!s.active) this._retryLater(1500); // refused by a middleware: socket.io gives up
    });
    s.on("kicked", (data) => {
      this.kicked = data || { reason: "" };
    });
    s.onAny((event, ...args) => {
      const d = args[0];
      if (event === "world:frame") return this._fire("world:tick", this._unframe(d));
      if (event === "presence:join" && d?.n) this._numbers.set(d.n, d.id);
      if (event === "room:door" && d?.ok) this._numbered(d);
      this._fire(event, d);
    });
  }

  /** Remember the numbers of a join snapshot's bodies. */
  _numbered(snap) {
    this._numbers.clear();
    for (const p of [...(snap.occupants || []), ...(snap.npcs || [])]) if (p.n) this._numbers.set(p.n, p.id);
  }

  /** A wire-2 world:frame (docs/realtime.md) as the world:tick the app knows: {room, t, moves: [[id, x, y, t?]]}. */
  _unframe(d) {
    const ids = this._numbers;
    const echo = new Map();
    const e = d?.e || [];
    for (let i = 0; i + 1 < e.length; i += 2) echo.set(e[i], e[i + 1]);
    const moves = [];
    for (const [part, near] of [[d?.m || [], true], [d?.f || [], false]]) {
      for (let i = 0; i + 2 < part.length; i += 3) {
        const id = ids.get(part[i]);
        if (id === undefined) continue;
        const mv = [id, part[i + 1] / 100, part[i + 2] / 100]; // positions come in hundredths of a tile
        // `e` carries the move's t as milliseconds before the frame's t (both to the ms)
        if (near && echo.has(part[i])) mv.push(Math.round(d.t * 1000 - echo.get(part[i])) / 1000);
        moves.push(mv);
      }
    }
    return { room: d?.room, t: d?.t, moves };
  }

  connect() {
    this._setState("connecting");
    this.socket.connect();
  }

  _retryLater(ms) {
    clearTimeout(this._retry);
    this._retry = setTimeout(() => {
      if (!this.closed && !this.socket.connected) this.socket.connect();
    }, ms);
  }

  close() {
    this.closed = true;
    clearTimeout(this._retry);
    this.socket.disconnect();
    this._setState("closed");
  }

  get online() {
    return this.socket.connected;
  }

  _setState(state, reason) {
    this.state = state;
    this._fire("status", { state, reason });
  }

  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(fn);
    return () => this._listeners.get(event)?.delete(fn);
  }

  _fire(event, data) {
    for (const fn of this._listeners.get(event) || []) {
      try {
        fn(data);
      } catch (e) {
        console.error(`handler of ${event} failed`, e);
      }
    }
  }

  /**
   * Emit with an acknowledgement. Always resolves to the protocol's shape:
   * {ok: true, ...} or {ok: false, error: {code, message}}; never throws.
   */
  async request(event, payload = {}) {
    if (!this.socket.connected) {
      return { ok: false, error: { code: "offline", message: "waiting for the connection to come back" } };
    }
    try {
      // compact world:frames (decoded in _unframe), and what the screen shows: the area large rooms send us
      if (event === "room:join") {
        const view = (this._viewSent = this.viewTiles?.());
        payload = { ...payload, wire: 2, ...(view ? { view } : {}) };
      }
      const reply = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
      if (event === "room:join" && reply?.ok) this._numbered(reply);
      if (reply && typeof reply === "object" && "ok" in reply) return reply;
      return { ok: false, error: { code: "internal", message: "the server sent an unexpected reply" } };
    } catch {
      return { ok: false, error: { code: "timeout", message: `no answer to ${event}` } };
    }
  }

  /** The screen changed size: tell the server what it shows now (the area large rooms send), once it settles. */
  viewChanged() {
    clearTimeout(this._viewTimer);
    this._viewTimer = setTimeout(() => {
      const view = this.viewTiles?.();
      const sent = this._viewSent;
      if (!view || !this.socket.connected || (sent && sent[0] === view[0] && sent[1] === view[1])) return;
      this._viewSent = view;
      this.request("view", { view });
    }, 500);
  }

  /** A money-moving request: one idempotency key for every retry of the same attempt. */
  async requestOnce(event, payload, { key = newKey(), retries = 2 } = {}) {
    let reply;
    for (let i = 0; i <= retries; i++) {
      reply = await this.request(event, { ...payload, idempotency_key: key });
      const code = reply.ok ? null : reply.error?.code;
      if (!["timeout", "overloaded", "offline"].includes(code)) break;
      await new Promise((r) => setTimeout(r, 600 * (i + 1)));
    }
    return { reply, key };
  }
}
