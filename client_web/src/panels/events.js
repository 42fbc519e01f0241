// Events, quests and suggestions for you. Events run on the world clock (`event:list`, pushed
// `event:started` / `event:ended`), a running one can be joined from its room (`event:join`);
// quests show each step as the server counts it (`quest:list`, pushed `quest:progress`), a find
// step is looked for here (`quest:find`), and a finished quest's reward is claimed once
// (`quest:complete`: a second claim returns the first). Suggestions (`suggest:list`) say why.
// The panel's words come from the catalogues (happening.*, suggest.*); titles, descriptions and
// step labels are the world's own content and are shown as the world file wrote them.

import "./events.css";
import { currentLanguage, formatTimeOf, t } from "../i18n.js";
import { describeError } from "../net.js";
import { el, formatCoins, setChildren, toast } from "../ui.js";

/** "HH:MM" on the world clock in the interface's locale (11:00 AM, 11:00, 11 h 00). */
export function worldTime(hhmm) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(String(hhmm || ""));
  return m ? formatTimeOf(new Date(2000, 0, 1, Number(m[1]), Number(m[2]))) : String(hhmm || "");
}

/** A suggestion in the interface's language: the server's structured `say`/`because` when we know
 * the message, its English words otherwise (an older or newer server). */
export function suggestionWords(x) {
  const args = (a) => {
    const out = { ...(a || {}) };
    if (out.lang) out.lang = languageName(out.lang);
    if (out.rooms) out.rooms = new Intl.ListFormat(currentLanguage(), { type: "conjunction" }).format(out.rooms);
    if (out.when_min !== undefined) out.when = out.when_min === null ? t("suggest.on_now") : t("suggest.starts_in", { count: out.when_min });
    return out;
  };
  const say = (m, fallback) => (m?.key ? t(`suggest.${m.key}`, { ...args(m.args), defaultValue: fallback }) : fallback);
  const title = say(x.say, x.title);
  const why = (x.because?.length === x.why.length ? x.because : x.why.map(() => null)).map((m, i) => say(m, x.why[i]));
  return { title, why };
}

function languageName(code) {
  try {
    return new Intl.DisplayNames([currentLanguage()], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

export class EventsPanel {
  /** conn: WorldConnection; room(): the slug of the room we are in. */
  constructor({ conn, room }) {
    this.conn = conn;
    this.room = room;
    this.latest = new Map(); // quest key -> the furthest progress seen
    this.roomNames = new Map(); // slug -> the room's name (events name their room by slug)
    this.events = el("ul", { class: "happening-list", "aria-label": t("happening.events_label") });
    this.quests = el("div", { class: "quest-list", "aria-label": t("happening.quests") });
    this.suggestions = el("ul", { class: "suggestion-list", "aria-label": t("happening.suggestions_label") });
    this.clock = el("span", { class: "muted world-clock", title: t("happening.clock_title") });
    this.element = el(
      "section",
      { class: "happening panel", id: "happening", "aria-labelledby": "happening-title" },
      el("h2", { id: "happening-title" }, t("happening.title"), " ", this.clock),
      this.events,
      el("h3", {}, t("happening.quests")),
      this.quests,
      el("h3", {}, t("happening.for_you")),
      this.suggestions,
    );
    conn.on("event:started", (e) => {
      toast(t("happening.began", { title: e.title, room: this.roomName(e.room) }), "ok");
      this.refresh();
    });
    conn.on("event:ended", () => this.refresh());
    conn.on("quest:progress", (q) => this.showQuest(q));
  }

  roomName(slug) {
    return this.roomNames.get(slug) || slug;
  }

  async refresh() {
    const [events, quests, suggestions, rooms] = await Promise.all([
      this.conn.request("event:list"),
      this.conn.request("quest:list"),
      this.conn.request("suggest:list"),
      this.roomNames.size ? { ok: false } : this.conn.request("room:list", {}),
    ]);
    if (rooms.ok) (rooms.rooms || []).forEach((r) => this.roomNames.set(r.slug, r.name));
    if (events.ok) this.showEvents(events.events, events.clock);
    if (quests.ok) this.showQuests(quests.quests);
    if (suggestions.ok) this.showSuggestions(suggestions);
  }

  showEvents(events, clock) {
    this.clock.textContent = clock ? `· ${worldTime(clock)}` : "";
    if (!events.length) {
      setChildren(this.events, el("li", { class: "muted" }, t("happening.no_events")));
      return;
    }
    const sorted = [...events].sort((a, b) => (b.running - a.running) || (a.starts_in_min - b.starts_in_min));
    setChildren(
      this.events,
      sorted.map((e) => {
        const room = this.roomName(e.room);
        return el(
          "li",
          { class: `happening-item${e.running ? " running" : ""}`, dataset: { event: e.key } },
          el("strong", {}, e.title),
          el("span", { class: "muted" }, " · ", e.running ? t("happening.on_now", { room }) : t("happening.at", { time: worldTime(e.at), room })),
          e.description ? el("p", { class: "muted" }, e.description) : null,
          e.running
            ? el("button", { type: "button", class: "secondary", onclick: () => this.join(e) }, e.room === this.room() ? t("happening.join") : t("happening.join_there", { room }))
            : null,
        );
      }),
    );
  }

  async join(e) {
    const reply = await this.conn.request("event:join", { event: e.key });
    toast(reply.ok ? t("happening.joined", { title: e.title }) : describeError(reply.error), reply.ok ? "ok" : "error");
    if (reply.ok) this.refresh();
  }

  showQuests(quests) {
    if (!quests.length) setChildren(this.quests, el("p", { class: "muted" }, t("happening.no_quests")));
    else setChildren(this.quests, quests.map((q) => this.questCard(this.newest(q))));
  }

  questCard(q) {
    const all = q.steps.every((s) => s.done);
    const label = q.completed ? t("happening.rewarded", { amount: formatCoins(q.rewarded) }) : t("happening.claim", { amount: formatCoins(q.reward) });
    const claim = el("button", { type: "button", class: "primary", disabled: !all || q.completed, onclick: () => this.claim(q, claim) }, label);
    return el(
      "article",
      { class: `quest${q.completed ? " done" : ""}`, dataset: { quest: q.key } },
      el("h4", {}, q.title, el("span", { class: "muted", title: t("happening.progress_label", { done: q.done, total: q.steps.length }) }, ` · ${t("happening.progress", { done: q.done, total: q.steps.length })}`)),
      el(
        "ol",
        { class: "quest-steps" },
        q.steps.map((s) =>
          el(
            "li",
            { class: s.done ? "step done" : "step", "aria-checked": String(s.done), role: "checkbox" },
            `${s.done ? "✓" : "○"} ${s.label}`,
            !s.done && s.kind === "find" && s.room === this.room()
              ? el("button", { type: "button", class: "secondary small", onclick: () => this.find(s.thing) }, t("happening.look_here"))
              : null,
          ),
        ),
      ),
      claim,
    );
  }

  /** Progress only grows: a list computed a moment before a pushed `quest:progress` never undoes it. */
  newest(q) {
    const seen = this.latest.get(q.key);
    const rank = (x) => x.done + (x.completed ? 1000 : 0);
    if (!seen || rank(q) >= rank(seen)) this.latest.set(q.key, q);
    return this.latest.get(q.key);
  }

  showQuest(q) {
    q = this.newest(q);
    const old = this.quests.querySelector(`[data-quest="${CSS.escape(q.key)}"]`);
    const card = this.questCard(q);
    if (old) old.replaceWith(card);
    else {
      this.quests.querySelector(":scope > p.muted")?.remove(); // the "no quests" line
      this.quests.append(card);
    }
  }

  async find(thing) {
    const reply = await this.conn.request("quest:find", { thing });
    if (!reply.ok) return toast(describeError(reply.error), "error");
    (reply.quests || []).forEach((q) => this.showQuest(q));
    toast(t("happening.found", { thing: reply.thing }), "ok");
  }

  async claim(q, button) {
    button.disabled = true;
    const reply = await this.conn.request("quest:complete", { quest: q.key });
    if (!reply.ok) {
      button.disabled = false;
      return toast(describeError(reply.error), "error");
    }
    this.showQuest(reply.quest);
    toast(t("happening.quest_done", { title: q.title, amount: formatCoins(reply.reward) }), "ok");
  }

  showSuggestions(s) {
    if (!s.enabled) {
      setChildren(this.suggestions, el("li", { class: "muted" }, t("happening.suggestions_off")));
      return;
    }
    if (!s.suggestions.length) {
      setChildren(this.suggestions, el("li", { class: "muted" }, t("happening.suggestions_none")));
      return;
    }
    setChildren(
      this.suggestions,
      s.suggestions.map((x) => {
        const words = suggestionWords(x);
        return el("li", { class: `suggestion ${x.kind}` }, el("span", {}, words.title), el("details", {}, el("summary", {}, t("happening.why")), el("ul", {}, words.why.map((w) => el("li", {}, w)))));
      }),
    );
  }
}
