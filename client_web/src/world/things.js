// The map's interactive objects (a notice board, a fountain, a bookshelf) and what a door says
// when it stays closed.

import { describeError } from "../net.js";
import { el, openDialog } from "../ui.js";

const TITLES = { notice_board: "Notice board", fountain: "Fountain", bookshelf: "Bookshelf" };

/** A clicked object: its text (and the shelf's books) in a dialog. */
export function useThing(thing) {
  const books = typeof thing.books === "string" ? thing.books.split("\n").filter(Boolean) : [];
  return openDialog(thing.name ? thing.name[0].toUpperCase() + thing.name.slice(1) : TITLES[thing.kind] || "Object", (close) =>
    el(
      "div",
      { class: "dialog-body thing", dataset: { kind: thing.kind } },
      thing.text ? el("p", {}, thing.text) : null,
      books.length ? el("ul", { class: "books", "aria-label": "Books" }, books.map((b) => el("li", {}, b))) : null,
      el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "primary", onclick: () => close() }, "Close")),
    ),
  );
}

/** Why a door did not let us through, in words. */
export function doorMessage(d) {
  const where = d.to ? ` to ${d.to}` : "";
  return `The ${d.door || "door"}${where} stays closed: ${describeError(d.error)}`;
}
