// The chat panel: room chat and whispers (`chat:send`), history from the `room:join` ack, each
// line in the reader's language with the original one click away (`chat:translation`), a quiet
// "not translated" marker (none at all when the world has no translation: it says so once),
// moderation outcomes explained, and reporting a line. A whisper whose person left is never sent
// to the room. A line sent while a join is under way waits for it (then goes out, or stays in the
// box). Reporting is one tab stop for the whole log: the report buttons share a roving tabindex
// (arrow keys move between lines' buttons, Home/End to the first/last).

import { t } from "../i18n.js";
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
  constructor({ conn, me, people, onSay, ready = () => true, onSent = null }) {
    this.conn = conn;
    this.me = me;
    this.people = people;
    this.onSay = onSay;
    this.ready = ready; // false while no room is joined yet (or a join is under way)
    this.onSent = onSent;
    this.waiting = null; // a line sent during a join: {text}
    this.reportFocus = null; // the message id whose report button is the log's one tab stop
    this.lines = new Map(); // message id -> {msg, node, translation, unavailable, original}
    this.whisperTo = null;
    this.whisperName = "";
    this.translating = true; // false: the world has no translation model (setTranslation)

    this.log = el("ol", { class: "chat-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": t("chat.log_label"), tabindex: "0" });
    this.log.addEventListener("keydown", (e) => this._roveReport(e));
    this.input = el("input", {
      id: "chat-input",
      class: "chat-input",
      type: "text",
      maxLength: 500,
      autocomplete: "off",
      placeholder: t("chat.placeholder"),
      "aria-label": t("chat.message"),
    });
    this.target = el("select", { class: "chat-to", "aria-label": t("chat.send_to") }, el("option", { value: "" }, t("chat.everyone")));
    this.target.addEventListener("change", () => this._setWhisper(this.target.value || null));
    this.sendButton = el("button", { type: "submit", class: "primary" }, t("chat.send"));
    this.form = el("form", { class: "chat-form", "aria-label": t("chat.form_label") }, this.target, this.input, this.sendButton);
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
      el("h2", { id: "chat-title", class: "panel-title" }, t("chat.title")),
      this.log,
      this.form,
    );
  }

  focus() {
    this.beforeFocus?.(); // a phone's closed drawer opens first
    this.input.focus();
  }

  /** Put a line in the box for the person to send (the tour's "say hello"); their text stays if they typed. */
  suggest(text) {
    if (!this.input.value.trim()) this.input.value = text;
    this.focus();
  }

  /** A join finished: a line that waited for it goes out now (or, if it failed, stays in the box). */
  joinSettled(ok) {
    const waiting = this.waiting;
    this.waiting = null;
    this.form.classList.remove("waiting");
    if (!waiting) return;
    if (ok && this.input.value.trim() === waiting.text) this.send();
    else if (!ok) this.system(t("chat.kept_in_box"), "warn");
  }

  /** Who can be whispered to: the people in the room (not residents, not me). */
  refreshTargets() {
    const current = this.target.value;
    const options = [el("option", { value: "" }, t("chat.everyone"))];
    for (const p of this.people.list()) {
      if (p.id === this.me().id) continue;
      options.push(el("option", { value: p.id }, t(p.kind === "npc" ? "chat.talk_privately_option" : "chat.whisper_option", { name: p.name })));
    }
    // The person whispered to left: the box stays private (marked) so a line typed for them never
    // goes to everyone; sending says so and clears it.
    const gone = this.whisperTo && !this.people.get(this.whisperTo);
    if (gone) options.push(el("option", { value: this.whisperTo }, t("presence.left_short", { name: this.whisperName || t("common.someone") })));
    setChildren(this.target, options);
    this.target.value = [...this.target.options].some((o) => o.value === current) ? current : "";
    if (!gone && this.whisperTo && this.form.classList.contains("whisper-gone")) this._setWhisper(this.whisperTo); // back again
    if (gone && !this.form.classList.contains("whisper-gone")) {
      this.form.classList.add("whisper-gone");
      this.input.placeholder = t("chat.placeholder_gone", { name: this.whisperName || t("common.someone") });
      this.system(t("chat.whisper_gone", { name: this.whisperName || t("chat.whisper_gone_someone") }), "warn");
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
    const key = p?.kind === "npc" ? "chat.placeholder_talk" : "chat.placeholder_whisper";
    this.input.placeholder = p ? t(key, { name: p.name }) : t("chat.placeholder");
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
    const name = this.whisperName || t("chat.that_person");
    this._setWhisper(null);
    this.system(t("chat.whisper_not_sent", { name }), "warn");
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
    if (entry.node.querySelector(".report-line")) this._newReportable(msg.id);
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
    const who = el("span", { class: "who" }, msg.from?.name || "?", npc ? el("span", { class: "badge", title: t("people.resident_title") }, t("people.resident")) : null);
    let whisper = null;
    if (msg.to) {
      whisper = el("span", { class: "whisper-tag" }, mine ? t("chat.whispers_to", { name: this.people.name(msg.to) || t("common.someone_lower") }) : t("chat.whispers_to_you"));
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
          entry.original ? t("chat.show_translation", { lang: languageName(entry.translation.lang) }) : t("chat.translated_from", { lang: languageName(msg.lang) }),
        ),
      );
    } else if (entry.unavailable && !this.translating) {
      // The world translates nothing (said once in chat): just which language it is, quietly.
      extras.push(el("span", { class: "marker lang-tag", title: t("chat.written_in", { lang: languageName(msg.lang) }) }, msg.lang));
    } else if (entry.unavailable) {
      extras.push(el("span", { class: "marker not-translated", title: t("chat.not_translated_title", { lang: languageName(msg.lang) }) }, t("chat.not_translated")));
    } else if (entry.pending) {
      extras.push(el("span", { class: "marker translating" }, t("chat.translating")));
    }
    if (msg.moderation === "mask") extras.push(el("span", { class: "marker masked", title: t("chat.masked_title") }, t("chat.masked")));
    const from = msg.from?.name || t("common.someone_lower");
    const report = mine
      ? null
      : el(
          "button",
          {
            type: "button",
            class: "icon report-line",
            tabindex: msg.id === this.reportFocus ? "0" : "-1", // one tab stop for all lines' report buttons (_roveReport)
            "aria-label": t("chat.report_label", { name: from }),
            title: t("chat.report_title"),
            onfocus: () => this._setReportFocus(msg.id),
            onclick: () => reportDialog(this.conn, { message_id: msg.id }, t("report.the_message_from", { name: from })),
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

  /** The report buttons of the log, oldest first. */
  _reportButtons() {
    return [...this.log.querySelectorAll(".report-line")];
  }

  /** Which line's report button is the log's one tab stop. */
  _setReportFocus(id) {
    this.reportFocus = id;
    for (const b of this._reportButtons()) b.tabIndex = b.closest(".line")?.dataset.id === id ? 0 : -1;
  }

  /** A new reportable line: the tab stop moves to it, unless the person is on a report button now. */
  _newReportable(id) {
    const active = document.activeElement;
    const onOne = active?.classList?.contains("report-line") && this.log.contains(active) && this.lines.has(this.reportFocus);
    if (!onOne) this._setReportFocus(id);
  }

  /** Arrow keys between report buttons (a roving tabindex): Up/Down, Home/End. */
  _roveReport(e) {
    const current = e.target?.classList?.contains("report-line") ? e.target : null;
    if (!current || !["ArrowUp", "ArrowDown", "Home", "End"].includes(e.key)) return;
    const buttons = this._reportButtons();
    const i = buttons.indexOf(current);
    const next = { ArrowUp: buttons[i - 1], ArrowDown: buttons[i + 1], Home: buttons[0], End: buttons[buttons.length - 1] }[e.key];
    e.preventDefault();
    if (!next) return;
    this._setReportFocus(next.closest(".line").dataset.id);
    next.focus();
    next.closest(".line").scrollIntoView({ block: "nearest" });
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
    if (!this.ready()) {
      // Joining (or not in a room yet): the line waits in the box and goes out once the join is done.
      if (!this.waiting) this.system(t("chat.waiting_for_join"), "info");
      this.waiting = { text };
      this.form.classList.add("waiting");
      return;
    }
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
      if (err.code === "muted" && err.until) words += ` (${t("moderation.until", { when: formatTime(err.until) }).trim()})`;
      this.system(words, "error");
      return; // the text stays in the box
    }
    this.input.value = "";
    if (reply.action === "block") {
      this.system(t("chat.blocked", { reason: reply.reason || t("chat.blocked_default") }), "warn");
    } else if (reply.held) {
      this.system(t("chat.held"), "info");
    } else if (reply.action === "mask") {
      this.system(t("chat.masked_mine"), "info");
    }
    if (reply.action !== "block") this.onSent?.(text);
  }
}
