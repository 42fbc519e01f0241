// The map's interactive objects (a notice board, a fountain, a bookshelf) and what a door says
// when it stays closed. The fountain takes a coin through the ledger: `thing:use {thing,
// idempotency_key}` (one key per toss, reused on a retry, so a coin is never tossed twice); the
// server answers with the new balance and sends wallet:update like any payment.

import { t } from "../i18n.js";
import { describeError } from "../net.js";
import { el, formatCoins, openDialog, toast } from "../ui.js";

const KINDS = ["notice_board", "fountain", "bookshelf"];

/** An object's name, capitalised ("Fountain"), or what kind of thing it is. A name that only says
 * its kind ("notice board") is the kind, in the reader's language ("Tablón de anuncios"). */
export function title(thing) {
  const generic = thing.name && KINDS.includes(thing.kind) && thing.name.toLowerCase().replace(/[\s_-]+/g, "_") === thing.kind;
  if (thing.name && !generic) return thing.name[0].toUpperCase() + thing.name.slice(1);
  return KINDS.includes(thing.kind) ? t(`things.kind.${thing.kind}`) : t("things.object");
}

/** The fountain's toss: a button that pays the fountain one coin (its `price`) once per press. */
function tossButton(thing, conn, wallet, result) {
  const price = Math.max(1, Number.parseInt(thing.price, 10) || 1);
  const amount = formatCoins(price, wallet?.currency);
  const button = el("button", { type: "button", class: "primary toss" }, t("things.toss", { amount }));
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.textContent = t("things.tossing");
    const { reply } = await conn.requestOnce("thing:use", { thing: thing.name || "fountain" });
    button.disabled = false;
    if (!reply.ok) {
      result.textContent = describeError(reply.error);
      return;
    }
    wallet?.set(reply.balance);
    result.textContent = t("things.tossed", { amount: formatCoins(reply.amount, wallet?.currency) });
    toast(t("things.tossed", { amount: formatCoins(reply.amount, wallet?.currency) }), "ok");
  });
  return button;
}

/** A clicked object: its text (and the shelf's books) in a dialog; the fountain takes a coin. */
export function useThing(thing, conn, wallet) {
  const books = typeof thing.books === "string" ? thing.books.split("\n").filter(Boolean) : [];
  return openDialog(title(thing), (close) => {
    const result = el("p", { class: "thing-result", role: "status" });
    const fountain = thing.kind === "fountain" && conn;
    return el(
      "div",
      { class: "dialog-body thing", dataset: { kind: thing.kind } },
      thing.text ? el("p", {}, thing.text) : null,
      fountain ? el("p", { class: "muted" }, t("things.fountain_help")) : null,
      books.length ? el("ul", { class: "books", "aria-label": t("things.books") }, books.map((b) => el("li", {}, b))) : null,
      result,
      el(
        "div",
        { class: "dialog-actions" },
        el("button", { type: "button", class: fountain ? "secondary" : "primary", onclick: () => close() }, t("common.close")),
        fountain ? tossButton(thing, conn, wallet, result) : null,
      ),
    );
  });
}

/** Why a door did not let us through, in words. */
export function doorMessage(d) {
  const door = d.door || t("things.door");
  const why = describeError(d.error);
  return d.to ? t("things.door_closed_to", { door, to: d.to, why }) : t("things.door_closed", { door, why });
}
