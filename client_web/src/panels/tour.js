// The guide's short tour for a newcomer: the server's `session` says who guides and which door
// to walk to (`onboarding`, only for an account that was never in a room); the guide's own
// greeting arrives in chat like any resident's line. The card offers the tour, then checks off
// each step as it happens (walk to the market door, say hello, check the wallet). Progress is
// kept per account in localStorage, so a reload goes on where the person was.

import { t } from "../i18n.js";
import { el, setChildren } from "../ui.js";

const STEPS = ["door", "say", "wallet"];

export class Tour {
  /** hooks: me(), room(), position() -> {x, y}, walkTo(x, y), say(text), wallet() */
  constructor(hooks) {
    this.hooks = hooks;
    this.state = null; // {offer, status: "offered"|"started"|"done"|"declined", done: {step: true}}
    this.live = el("p", { class: "sr-only", role: "status", "aria-live": "polite" });
    this.body = el("div", { class: "tour-body" });
    this.element = el(
      "section",
      { class: "tour", "aria-labelledby": "tour-title", hidden: true },
      el("h2", { id: "tour-title", class: "tour-title" }),
      this.body,
      this.live,
    );
  }

  get key() {
    return `townsquare.tour.${this.hooks.me().id}`;
  }

  _load() {
    if (this.state || !this.hooks.me().id) return;
    try {
      this.state = JSON.parse(localStorage.getItem(this.key) || "null");
    } catch {
      this.state = null;
    }
  }

  _save() {
    try {
      localStorage.setItem(this.key, JSON.stringify(this.state));
    } catch {
      /* private mode: the tour lasts as long as the page */
    }
  }

  /** A newcomer's `session.onboarding`: the guide offers the tour (once per account). */
  offer(onboarding) {
    this._load();
    if (this.state) return this.render();
    this.state = { offer: onboarding, status: "offered", done: {} };
    this._save();
    this.render();
  }

  get steps() {
    return (this.state?.offer?.steps || STEPS).filter((s) => STEPS.includes(s));
  }

  get guide() {
    return this.state?.offer?.guide?.name || t("tour.the_guide");
  }

  /** Entered a room: through the tour's door counts as walking to it. */
  entered(room) {
    this._load();
    if (this.state?.offer?.door && room?.slug === this.state.offer.door.room) this.done("door");
    this.render();
  }

  /** Standing on (or next to) the tour's door. */
  moved() {
    const door = this.state?.status === "started" && !this.state.done.door && this.state.offer?.door;
    if (!door || this.hooks.room()?.slug !== this.state.offer.room) return;
    const me = this.hooks.position();
    if (me && me.x >= door.x - 1 && me.x <= door.x + door.width + 1 && me.y >= door.y - 1 && me.y <= door.y + door.height + 1) this.done("door");
  }

  said() {
    this.done("say");
  }

  checkedWallet() {
    this.done("wallet");
  }

  done(step) {
    const s = this.state;
    if (!s || s.done[step] || !["offered", "started"].includes(s.status)) return;
    s.done[step] = true;
    if (s.status === "started") this.live.textContent = t("tour.step_done", { step: this._stepText(step) });
    if (this.steps.every((x) => s.done[x])) {
      s.status = "finished";
      this.live.textContent = t("tour.all_done");
    }
    this._save();
    this.render();
  }

  _set(status) {
    this.state.status = status;
    this._save();
    this.render();
  }

  _stepText(step) {
    const door = this.state?.offer?.door;
    if (step === "door") return t("tour.step.door", { door: door?.name || t("things.door"), room: door?.room_name || door?.room || "" });
    if (step === "say") return t("tour.step.say", { guide: this.guide });
    return t("tour.step.wallet");
  }

  _stepAction(step) {
    const h = this.hooks;
    if (step === "door") {
      const d = this.state.offer.door;
      return el("button", { type: "button", class: "secondary", onclick: () => h.walkTo(d.x + d.width / 2, d.y + d.height / 2) }, t("tour.action.door"));
    }
    if (step === "say") return el("button", { type: "button", class: "secondary", onclick: () => h.say(t("tour.hello", { guide: this.guide })) }, t("tour.action.say"));
    return el("button", { type: "button", class: "secondary", onclick: () => h.wallet() }, t("tour.action.wallet"));
  }

  render() {
    const s = this.state;
    const title = this.element.querySelector(".tour-title");
    if (!s || ["declined", "done"].includes(s.status)) {
      this.element.hidden = true;
      return;
    }
    const here = this.hooks.room()?.slug;
    if (s.status === "offered" && s.offer?.room && here && here !== s.offer.room) {
      this.element.hidden = true; // the guide's "welcome to the plaza" is said there: elsewhere it waits unseen
      return;
    }
    this.element.hidden = false;
    this.element.dataset.status = s.status;
    if (s.status === "offered") {
      title.textContent = t("tour.offer_title", { guide: this.guide });
      setChildren(
        this.body,
        el("p", {}, t("tour.offer_text", { guide: this.guide, room: s.offer?.room_name || "" })),
        el(
          "div",
          { class: "tour-actions" },
          el("button", { type: "button", class: "primary", onclick: () => this._set("started") }, t("tour.start")),
          el("button", { type: "button", class: "secondary", onclick: () => this._set("declined") }, t("tour.decline")),
        ),
      );
      return;
    }
    if (s.status === "finished") {
      title.textContent = t("tour.finished_title");
      setChildren(
        this.body,
        el("p", {}, t("tour.finished_text", { guide: this.guide })),
        el("div", { class: "tour-actions" }, el("button", { type: "button", class: "primary", onclick: () => this._set("done") }, t("common.close"))),
      );
      return;
    }
    title.textContent = t("tour.title", { guide: this.guide });
    const count = this.steps.filter((x) => s.done[x]).length;
    setChildren(
      this.body,
      el("p", { class: "muted tour-progress" }, t("tour.progress", { done: count, total: this.steps.length })),
      el(
        "ol",
        { class: "tour-steps" },
        this.steps.map((step) =>
          el(
            "li",
            { class: `tour-step${s.done[step] ? " done" : ""}`, dataset: { step } },
            el("span", { class: "tour-mark", "aria-hidden": "true" }, s.done[step] ? "✓" : "○"),
            el("span", { class: "tour-text" }, this._stepText(step), s.done[step] ? el("span", { class: "sr-only" }, ` (${t("tour.done")})`) : null),
            s.done[step] ? null : this._stepAction(step),
          ),
        ),
      ),
      el("div", { class: "tour-actions" }, el("button", { type: "button", class: "link", onclick: () => this._set("declined") }, t("tour.stop"))),
    );
  }
}
