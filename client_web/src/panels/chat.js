// The chat panel: room chat and whispers (`chat:send`), history from the `room:join` ack, each
// line in the reader's language with the original one click away (`chat:translation`), a quiet
// "not translated" marker (none at all when the world has no translation: it says so once),
// moderation outcomes explained, and reporting a line. A whisper whose person left is never sent
// to the room.

import { describeError, languageName } from "../net.js";
import { el, formatTime, setChildren } from "../ui.js";
import { reportDialog } from "./report.js";

const MAX_LINES = 250;
// No chat:translation after this long (the server's deadline is 10 s): say it was not translated.
const TRANSLATION_WAIT_MS = 12000;
export const EMOTES = ["wave", "dance", "laugh", "cheer", "clap", "sit", "nod", "shrug", "bow", "think"];

export class ChatPanel {
  /**
   * me(): {id, language}; people: the People panel (names, whisper targets);
   * onSay(message): a line was shown (the renderer draws a bubble).
   */
  constructor({ conn, me, people, onSay }) {
    this.conn = conn;
    this.me = me;
    this.people = people;
    this.onSay = onSay;
    this.lines = new Map(); // message id -> {msg, node, translation, unavailable, original}
    this.whisperTo = null;
    this.whisperName = "";
    this.translating = true; // false: the world has no translation model (setTranslation)

    this.log = el("ol", { class: "chat-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Chat messages", tabindex: "0" });
    this.input = el("input", {
      id: "chat-input",
      class: "chat-input",
      type: "text",
      maxLength: 500,
      autocomplete: "off",
      placeholder: "Say something… (Enter to send)",
      "aria-label": "Message",
    });
    this.target = el("select", { class: "chat-to", "aria-label": "Send to" }, el("option", { value: "" }, "Everyone"));
    this.target.addEventListener("change", () => this._setWhisper(this.target.value || null));
    this.sendButton = el("button", { type: "submit", class: "primary" }, "Send");
    this.form = el("form", { class: "chat-form", "aria-label": "Send a message" }, this.target, this.input, this.sendButton);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.whisperTo) {
        this._setWhisper(null);
        e.stopPropagation();
      }
    });
    this.element = el(
      "section",
      { class: "panel chat", "aria-labelledby": "chat-title" },
      el("h2", { id: "chat-title", class: "panel-title" }, "Chat"),
      this.log,
      this.form,
    );
  }

  focus() {
    this.input.focus();
  }

  /** Who can be whispered to: the people in the room (not residents, not me). */
  refreshTargets() {
    const current = this.target.value;
    const options = [el("option", { value: "" }, "Everyone")];
    for (const p of this.people.list()) {
      if (p.id === this.me().id) continue;
      options.push(el("option", { value: p.id }, p.kind === "npc" ? `Talk privately to ${p.name} (resident)` : `Whisper to ${p.name}`));
    }
    // The person whispered to left: the box stays private (marked) so a line typed for them never
    // goes to everyone; sending says so and clears it.
    const gone = this.whisperTo && !this.people.get(this.whisperTo);
    if (gone) options.push(el("option", { value: this.whisperTo }, `${this.whisperName || "Someone"} left`));
    setChildren(this.target, options);
    this.target.value = [...this.target.options].some((o) => o.value === current) ? current : "";
    if (!gone && this.whisperTo && this.form.classList.contains("whisper-gone")) this._setWhisper(this.whisperTo); // back again
    if (gone && !this.form.classList.contains("whisper-gone")) {
      this.form.classList.add("whisper-gone");
      this.input.placeholder = `${this.whisperName || "They"} left (Escape: talk to everyone)`;
      this.system(`${this.whisperName || "The person you were whispering to"} is not in this room any more: a whisper to them cannot be sent.`, "warn");
    }
  }

  whisper(person) {
    this.refreshTargets();
    this._setWhisper(person.id);
    this.focus();
  }

  _setWhisper(id) {
    const p = id ? this.people.get(id) : null;
    this.whisperTo = p ? id : null;
    this.whisperName = p?.name || "";
    this.target.value = this.whisperTo || "";
    this.form.classList.toggle("whispering", !!this.whisperTo);
    this.form.classList.remove("whisper-gone");
    for (const o of [...this.target.options]) if (o.value && !this.people.get(o.value)) o.remove(); // "… left"
    const verb = p?.kind === "npc" ? "Talk privately to" : "Whisper to";
    this.input.placeholder = p ? `${verb} ${p.name}… (Escape: talk to everyone)` : "Say something… (Enter to send)";
  }

  clear() {
    this.lines.clear();
    setChildren(this.log);
  }

  /** {available, words} from the server: without translation, lines carry no pending or missing marker. */
  setTranslation(status) {
    this.translating = status?.available !== false;
  }

  /** The whisper could not go: its person is gone. Nothing was sent; the text stays in the box. */
  _whisperGone() {
    const name = this.whisperName || "That person";
    this._setWhisper(null);
    this.system(`${name} is no longer in the room, so your whisper was not sent. It is still in the box; sending it now goes to everyone.`, "warn");
  }

  setHistory(messages) {
    this.clear();
    for (const m of messages || []) this.add(m, { history: true });
  }

  /** A chat:message (or a history line, which may carry "translation"). */
  add(msg, { history = false } = {}) {
    if (!msg || !msg.id || this.lines.has(msg.id)) return;
    const entry = { msg, translation: null, unavailable: false, original: false, pending: false };
    const mine = msg.from?.id === this.me().id;
    if (msg.translation) {
      if (msg.translation.text) entry.translation = msg.translation;
      else if (msg.translation.unavailable) entry.unavailable = true;
    }
    // translate: false — nothing to translate ("ok", emoji, a name): shown as written, unmarked.
    const foreign = !mine && msg.translate !== false && msg.lang && msg.lang !== this.me().language;
    if (foreign && !this.translating && !entry.translation) entry.unavailable = true; // no wait, nothing to wait for
    if (foreign && !entry.translation && !entry.unavailable) {
      entry.pending = true;
      entry.timer = setTimeout(() => {
        if (entry.pending) {
          entry.pending = false;
          entry.unavailable = true;
          this._render(entry);
        }
      }, history ? 1500 : TRANSLATION_WAIT_MS);
    }
    entry.node = el("li", { class: "line", dataset: { id: msg.id, from: msg.from?.id || "" } });
    this.lines.set(msg.id, entry);
    this._render(entry);
    this.log.append(entry.node);
    this._trim();
    this._scroll();
    if (!history) this.onSay?.(msg.from?.id, this._shownText(entry));
  }

  /** chat:translation {id, lang, text} or {id, lang, text: null, unavailable: true}. */
  translation(t) {
    const entry = this.lines.get(t?.id);
    if (!entry) return;
    if (t.lang && t.lang !== this.me().language) return; // for another language of mine (changed since)
    entry.pending = false;
    clearTimeout(entry.timer);
    if (t.text) {
      entry.translation = { lang: t.lang, text: t.text };
      entry.unavailable = false;
      this.onSay?.(entry.msg.from?.id, t.text);
    } else {
      entry.unavailable = true;
    }
    this._render(entry);
  }

  _shownText(entry) {
    return entry.translation && !entry.original ? entry.translation.text : entry.msg.text;
  }

  _render(entry) {
    const { msg } = entry;
    const me = this.me();
    const mine = msg.from?.id === me.id;
    const npc = msg.from?.kind === "npc";
    const node = entry.node;
    node.className = `line${mine ? " mine" : ""}${npc ? " npc" : ""}${msg.to ? " whisper" : ""}`;
    const who = el("span", { class: "who" }, msg.from?.name || "?", npc ? el("span", { class: "badge", title: "Resident" }, "resident") : null);
    let whisper = null;
    if (msg.to) {
      whisper = el("span", { class: "whisper-tag" }, mine ? `whispers to ${this.people.name(msg.to) || "someone"}` : "whispers to you");
    }
    const translated = entry.translation && !entry.original;
    const text = el("span", { class: "text", lang: translated ? entry.translation.lang : msg.lang || "" }, this._shownText(entry));
    const extras = [];
    if (entry.translation) {
      extras.push(
        el(
          "button",
          {
            type: "button",
            class: "link translation-toggle",
            "aria-pressed": String(entry.original),
            onclick: () => {
              entry.original = !entry.original;
              this._render(entry);
              node.querySelector(".translation-toggle")?.focus();
            },
          },
          entry.original ? `Show translation (${languageName(entry.translation.lang)})` : `Translated from ${languageName(msg.lang)} · Show original`,
        ),
      );
    } else if (entry.unavailable && !this.translating) {
      // The world translates nothing (said once in chat): just which language it is, quietly.
      extras.push(el("span", { class: "marker lang-tag", title: `Written in ${languageName(msg.lang)}` }, msg.lang));
    } else if (entry.unavailable) {
      extras.push(el("span", { class: "marker not-translated", title: `Written in ${languageName(msg.lang)}; this line could not be translated` }, "not translated"));
    } else if (entry.pending) {
      extras.push(el("span", { class: "marker translating" }, "translating…"));
    }
    if (msg.moderation === "mask") extras.push(el("span", { class: "marker masked", title: "Some words were hidden by moderation" }, "masked"));
    const report = mine
      ? null
      : el(
          "button",
          {
            type: "button",
            class: "icon report-line",
            "aria-label": `Report this message from ${msg.from?.name || "someone"}`,
            title: "Report this message",
            onclick: () => reportDialog(this.conn, { message_id: msg.id }, `the message from ${msg.from?.name || "someone"}`),
          },
          "⚑",
        );
    setChildren(
      node,
      el("time", { class: "time", datetime: msg.created_at || "" }, formatTime(msg.created_at)),
      who,
      whisper,
      el("span", { class: "sep", "aria-hidden": "true" }, ":"),
      text,
      extras.length ? el("span", { class: "extras" }, extras) : null,
      report,
    );
  }

  /** A line from the client itself (joins, notices, errors); kind: info | warn | error. */
  system(text, kind = "info") {
    const node = el("li", { class: `line system system-${kind}` }, el("span", { class: "text" }, text));
    this.log.append(node);
    this._trim();
    this._scroll();
  }

  _trim() {
    while (this.log.children.length > MAX_LINES) {
      const first = this.log.firstElementChild;
      if (first?.dataset.id) this.lines.delete(first.dataset.id);
      first?.remove();
    }
  }

  _scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  async send() {
    const text = this.input.value.trim();
    if (!text) return;
    const emote = text.match(/^\/(\w+)$/);
    if (emote && EMOTES.includes(emote[1])) {
      this.input.value = "";
      const reply = await this.conn.request("emote", { name: emote[1] });
      if (!reply.ok) this.system(describeError(reply.error), "error");
      return;
    }
    // A private line to a resident goes through `npc:whisper`; to a person, `chat:send` with `to`
    // and `whisper: true` (the server refuses it rather than send it to the room).
    const target = this.whisperTo ? this.people.get(this.whisperTo) : null;
    if (this.whisperTo && !target) return this._whisperGone();
    let event = "chat:send";
    let payload = { text };
    if (target?.kind === "npc") {
      event = "npc:whisper";
      payload = { npc: target.id, text };
    } else if (this.whisperTo) {
      payload.to = this.whisperTo;
      payload.whisper = true;
    }
    this.sendButton.disabled = true;
    const reply = await this.conn.request(event, payload);
    this.sendButton.disabled = false;
    if (!reply.ok) {
      const err = reply.error || {};
      if (payload.to && err.code === "not_found") return this._whisperGone(); // left as we sent it
      let words = describeError(err);
      if (err.code === "muted" && err.until) words += ` (until ${formatTime(err.until)})`;
      this.system(words, "error");
      return; // the text stays in the box
    }
    this.input.value = "";
    if (reply.action === "block") {
      this.system(`Your message was not sent: ${reply.reason || "it breaks the chat rules"}.`, "warn");
    } else if (reply.held) {
      this.system("Your message is waiting for a moderator before others see it.", "info");
    } else if (reply.action === "mask") {
      this.system("Some words in your message were hidden.", "info");
    }
  }
}
