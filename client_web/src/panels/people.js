// Who is in the room (people and residents): a keyboard- and screen-reader-friendly mirror of
// the canvas, and the menu of what you can do with someone (whisper, tip, shop, report).

import { t } from "../i18n.js";
import { el, openDialog, setChildren } from "../ui.js";

export class PeoplePanel {
  /** me(): {id}; actions: {whisper(p), tip(p), report(p), shop(p), talk(p), hasShop(p) -> Promise<bool>} */
  constructor({ me, actions }) {
    this.me = me;
    this.actions = actions;
    this.people = new Map();
    this.listNode = el("ul", { class: "people-list", "aria-label": t("people.list_label") });
    this.count = el("span", { class: "count" }, "0");
    this.element = el(
      "section",
      { class: "panel people", "aria-labelledby": "people-title" },
      el("h2", { id: "people-title", class: "panel-title" }, t("people.title"), " ", this.count),
      this.listNode,
    );
    this._dirty = false;
  }

  list() {
    return [...this.people.values()];
  }

  get(id) {
    return this.people.get(id);
  }

  name(id) {
    return this.people.get(id)?.name;
  }

  reset(presences) {
    this.people.clear();
    for (const p of presences) this.people.set(p.id, { ...p });
    this.render();
  }

  /** presence:join (new or changed); returns true when the person is new here. */
  upsert(p) {
    const known = this.people.has(p.id);
    this.people.set(p.id, { ...this.people.get(p.id), ...p });
    this.render();
    return !known;
  }

  remove(id) {
    const p = this.people.get(id);
    this.people.delete(id);
    this.render();
    return p;
  }

  /** world:tick: positions kept for the list's data attributes (refreshed a few times a second). */
  moved(moves) {
    for (const [id, x, y] of moves) {
      const p = this.people.get(id);
      if (p) {
        p.x = x;
        p.y = y;
      }
    }
    if (!this._dirty) {
      this._dirty = true;
      setTimeout(() => {
        this._dirty = false;
        for (const li of this.listNode.children) {
          const p = this.people.get(li.dataset.id);
          if (p) {
            li.dataset.x = String(p.x);
            li.dataset.y = String(p.y);
          }
        }
      }, 150);
    }
  }

  render() {
    const meId = this.me().id;
    const sorted = this.list().sort((a, b) => {
      if (a.id === meId) return -1;
      if (b.id === meId) return 1;
      if (a.kind !== b.kind) return a.kind === "npc" ? -1 : 1;
      return String(a.name).localeCompare(String(b.name));
    });
    this.count.textContent = `(${sorted.length})`;
    setChildren(
      this.listNode,
      sorted.map((p) => {
        const me = p.id === meId;
        return el(
          "li",
          { class: `person ${p.kind}${me ? " me" : ""}`, dataset: { id: p.id, kind: p.kind, x: String(p.x), y: String(p.y) } },
          el(
            "button",
            {
              type: "button",
              class: "person-button",
              "aria-label": me ? t("people.you_label", { name: p.name }) : t(p.kind === "npc" ? "people.resident_actions" : "people.actions", { name: p.name }),
              onclick: () => this.open(p.id),
              disabled: me,
            },
            el("span", { class: "swatch", style: `background:${safeColor(p.appearance?.shirt)}`, "aria-hidden": "true" }),
            el("span", { class: "person-name" }, p.name),
            me ? el("span", { class: "badge" }, t("people.you")) : null,
            p.kind === "npc" ? el("span", { class: "badge npc" }, t("people.resident")) : null,
          ),
        );
      }),
    );
  }

  /** The actions menu for one person (a canvas click or a list click). */
  async open(id) {
    const p = this.people.get(id);
    if (!p || id === this.me().id) return;
    const a = this.actions;
    const choice = await openDialog(p.name, (close) => {
      const buttons = el("div", { class: "person-actions" });
      const body = el("div", { class: "dialog-body" }, el("p", { class: "muted" }, t(p.kind === "npc" ? "people.a_resident" : "people.someone_here")), buttons);
      if (p.kind === "npc") {
        buttons.append(el("button", { type: "button", class: "primary", onclick: () => close("talk") }, t("people.talk_to", { name: p.name })));
        const shopSlot = el("span", { class: "muted" }, t("people.looking_for_shop"));
        buttons.append(shopSlot);
        a.hasShop(p).then((yes) => {
          if (!shopSlot.isConnected) return;
          if (yes) shopSlot.replaceWith(el("button", { type: "button", class: "primary", onclick: () => close("shop") }, t("people.shop")));
          else shopSlot.textContent = t("people.nothing_for_sale", { name: p.name });
        });
      } else {
        buttons.append(
          el("button", { type: "button", class: "primary", onclick: () => close("whisper") }, t("people.whisper")),
          el("button", { type: "button", class: "primary", onclick: () => close("tip") }, t("people.tip")),
          el("button", { type: "button", class: "secondary", onclick: () => close("report") }, t("people.report")),
        );
      }
      return body;
    });
    if (choice && a[choice]) a[choice](p);
  }
}

function safeColor(value) {
  return typeof value === "string" && /^#[0-9a-fA-F]{6}$/.test(value) ? value : "#8899aa";
}
