// Events, quests and suggestions for you. Events run on the world clock (`event:list`, pushed
// `event:started` / `event:ended`), a running one can be joined from its room (`event:join`);
// quests show each step as the server counts it (`quest:list`, pushed `quest:progress`), a find
// step is looked for here (`quest:find`), and a finished quest's reward is claimed once
// (`quest:complete`: a second claim returns the first). Suggestions (`suggest:list`) say why.

import "./events.css";
import { describeError } from "../net.js";
import { el, setChildren, toast } from "../ui.js";

export class EventsPanel {
  /** conn: WorldConnection; room(): the slug of the room we are in. */
  constructor({ conn, room }) {
    this.conn = conn;
    this.room = room;
    this.latest = new Map(); // quest key -> the furthest progress seen
    this.events = el("ul", { class: "happening-list", "aria-label": "Events" });
    this.quests = el("div", { class: "quest-list", "aria-label": "Quests" });
    this.suggestions = el("ul", { class: "suggestion-list", "aria-label": "Suggestions for you" });
    this.clock = el("span", { class: "muted world-clock" });
    this.element = el(
      "section",
      { class: "happening panel", id: "happening", "aria-labelledby": "happening-title" },
      el("h2", { id: "happening-title" }, "Happening ", this.clock),
      this.events,
      el("h3", {}, "Quests"),
      this.quests,
      el("h3", {}, "For you"),
      this.suggestions,
    );
    conn.on("event:started", (e) => {
      toast(`${e.title} has begun in ${e.room}`, "ok");
      this.refresh();
    });
    conn.on("event:ended", () => this.refresh());
    conn.on("quest:progress", (q) => this.showQuest(q));
  }

  async refresh() {
    const [events, quests, suggestions] = await Promise.all([
      this.conn.request("event:list"),
      this.conn.request("quest:list"),
      this.conn.request("suggest:list"),
    ]);
    if (events.ok) this.showEvents(events.events, events.clock);
    if (quests.ok) setChildren(this.quests, quests.quests.map((q) => this.questCard(this.newest(q))));
    if (suggestions.ok) this.showSuggestions(suggestions);
  }

  showEvents(events, clock) {
    this.clock.textContent = clock ? `· ${clock}` : "";
    const sorted = [...events].sort((a, b) => (b.running - a.running) || (a.starts_in_min - b.starts_in_min));
    setChildren(
      this.events,
      sorted.map((e) =>
        el(
          "li",
          { class: `happening-item${e.running ? " running" : ""}`, dataset: { event: e.key } },
          el("strong", {}, e.title),
          el("span", { class: "muted" }, e.running ? ` · on now in ${e.room}` : ` · ${e.at} in ${e.room}`),
          e.description ? el("p", { class: "muted" }, e.description) : null,
          e.running
            ? el("button", { type: "button", class: "secondary", onclick: () => this.join(e) }, e.room === this.room() ? "Join" : `Join (go to ${e.room})`)
            : null,
        ),
      ),
    );
  }

  async join(e) {
    const reply = await this.conn.request("event:join", { event: e.key });
    toast(reply.ok ? `You joined ${e.title}` : describeError(reply.error), reply.ok ? "ok" : "error");
    if (reply.ok) this.refresh();
  }

  questCard(q) {
    const all = q.steps.every((s) => s.done);
    const claim = el("button", { type: "button", class: "primary", disabled: !all || q.completed, onclick: () => this.claim(q, claim) }, q.completed ? `Reward received: ${q.rewarded}` : `Claim ${q.reward} coins`);
    return el(
      "article",
      { class: `quest${q.completed ? " done" : ""}`, dataset: { quest: q.key } },
      el("h4", {}, q.title, el("span", { class: "muted" }, ` · ${q.done}/${q.steps.length}`)),
      el(
        "ol",
        { class: "quest-steps" },
        q.steps.map((s) =>
          el(
            "li",
            { class: s.done ? "step done" : "step", "aria-checked": String(s.done), role: "checkbox" },
            `${s.done ? "✓" : "○"} ${s.label}`,
            !s.done && s.kind === "find" && s.room === this.room()
              ? el("button", { type: "button", class: "secondary small", onclick: () => this.find(s.thing) }, "Look here")
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
    else this.quests.append(card);
  }

  async find(thing) {
    const reply = await this.conn.request("quest:find", { thing });
    if (!reply.ok) return toast(describeError(reply.error), "error");
    (reply.quests || []).forEach((q) => this.showQuest(q));
    toast(`You found the ${reply.thing}`, "ok");
  }

  async claim(q, button) {
    button.disabled = true;
    const reply = await this.conn.request("quest:complete", { quest: q.key });
    if (!reply.ok) {
      button.disabled = false;
      return toast(describeError(reply.error), "error");
    }
    this.showQuest(reply.quest);
    toast(`Quest done: ${q.title}, +${reply.reward} coins`, "ok");
  }

  showSuggestions(s) {
    if (!s.enabled) {
      setChildren(this.suggestions, el("li", { class: "muted" }, "Suggestions are off (Profile)."));
      return;
    }
    if (!s.suggestions.length) {
      setChildren(this.suggestions, el("li", { class: "muted" }, "Walk around, talk and join events: suggestions follow what you do."));
      return;
    }
    setChildren(
      this.suggestions,
      s.suggestions.map((x) =>
        el("li", { class: `suggestion ${x.kind}` }, el("span", {}, x.title), el("details", {}, el("summary", {}, "Why?"), el("ul", {}, x.why.map((w) => el("li", {}, w))))),
      ),
    );
  }
}
