// Small DOM helpers. Every string that reaches the page goes in as text (a Text node or
// textContent), never as HTML: user names, chat lines and server messages are untrusted.

import { formatDateTimeOf, formatNumber, formatTimeOf, t } from "./i18n.js";

/**
 * el("button", {class: "x", onclick: fn, "aria-label": "..."}, "text", childNode, ...)
 * Attributes starting with "on" become listeners; `dataset` is an object; false/null are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "text") {
      node.textContent = String(value);
    } else if (key in node && typeof value !== "string") {
      node[key] = value; // value, checked, disabled, ... as properties
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export function setChildren(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

/** A short message in the toast area (announced politely by screen readers). */
export function toast(text, kind = "info", ms = 5000) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("div", { class: `toast toast-${kind}` }, text);
  box.append(item);
  setTimeout(() => item.remove(), ms);
}

/**
 * A modal <dialog> (Escape closes it, focus stays inside). `build(close)` returns its content.
 * Resolves with the value passed to close(value) (undefined on Escape).
 */
export function openDialog(title, build, { label, className = "" } = {}) {
  return new Promise((resolve) => {
    const heading = el("h2", { class: "dialog-title" }, title);
    const id = `dlg-${Math.random().toString(36).slice(2, 9)}`;
    heading.id = id;
    const dialog = el("dialog", { class: `dialog ${className}`, "aria-labelledby": id });
    if (label) dialog.setAttribute("aria-label", label);
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    const closeButton = el("button", { class: "dialog-close", type: "button", "aria-label": t("common.close"), onclick: () => close() }, "×");
    dialog.append(el("div", { class: "dialog-head" }, heading, closeButton), build(close));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = dialog.querySelector("[autofocus], input, select, textarea, button:not(.dialog-close)");
    (first || closeButton).focus();
  });
}

/** Yes/no question in a dialog; resolves true or false. */
export async function confirmDialog(title, question, yes = t("common.confirm"), no = t("common.cancel")) {
  const answer = await openDialog(title, (close) =>
    el(
      "div",
      { class: "dialog-body" },
      el("p", {}, question),
      el(
        "div",
        { class: "dialog-actions" },
        el("button", { type: "button", class: "secondary", onclick: () => close(false) }, no),
        el("button", { type: "button", class: "primary", autofocus: true, onclick: () => close(true) }, yes),
      ),
    ),
  );
  return answer === true;
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const wrap = el("div", { class: "field" }, el("label", { for: id }, label), input);
  if (hint) {
    const hid = `${id}-hint`;
    wrap.append(el("small", { id: hid, class: "hint" }, hint));
    input.setAttribute("aria-describedby", hid);
  }
  return { wrap, input };
}

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return formatTimeOf(d);
}

export function formatDateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return formatDateTimeOf(d);
}

/** Whole coins with the locale's thousands separators (money is an integer count, never a float).
 * The world's currency name "coins" is said in the reader's language; another name as the world calls it. */
export function formatCoins(n, currency = "coins") {
  const v = Number.isSafeInteger(n) ? formatNumber(n) : String(n);
  return currency === "coins" ? t("common.coins", { count: n, n: v }) : `${v} ${currency}`;
}
