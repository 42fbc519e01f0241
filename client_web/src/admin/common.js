// Shared pieces of the admin tabs: tables, result lines, small forms. Text only, never HTML.

import { el, field, formatDateTime, setChildren } from "../ui.js";

/** A status line: ok / error / info, announced to screen readers. */
export function statusLine() {
  const node = el("p", { class: "status-line", role: "status", "aria-live": "polite" });
  return {
    node,
    info(text) {
      node.className = "status-line";
      node.textContent = text;
    },
    ok(text) {
      node.className = "status-line ok";
      node.textContent = text;
    },
    error(err) {
      node.className = "status-line error";
      node.setAttribute("role", "alert");
      node.textContent = err?.words || String(err?.message || err);
    },
    clear() {
      node.textContent = "";
    },
  };
}

/** columns: [[header, row => text|Node], ...] */
export function table(columns, rows, { caption, empty = "Nothing to show.", rowAttrs } = {}) {
  if (!rows.length) return el("p", { class: "muted" }, empty);
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "table" },
      caption ? el("caption", { class: "sr-only" }, caption) : null,
      el("thead", {}, el("tr", {}, columns.map(([h]) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        {},
        rows.map((r) => el("tr", rowAttrs ? rowAttrs(r) : {}, columns.map(([, fn]) => {
          const v = fn(r);
          return el("td", {}, v === null || v === undefined ? "" : v);
        }))),
      ),
    ),
  );
}

export function input(name, attrs = {}) {
  return el("input", { name, type: "text", ...attrs });
}

export function select(name, options, value) {
  const s = el("select", { name }, options.map((o) => (Array.isArray(o) ? el("option", { value: o[0] }, o[1]) : el("option", { value: o }, o))));
  if (value !== undefined) s.value = value;
  return s;
}

/** A small form: fields [[label, inputNode, hint?]]; onSubmit(values, status) may throw ApiError. */
export function smallForm(title, fields, submitLabel, onSubmit, { danger = false } = {}) {
  const status = statusLine();
  const button = el("button", { type: "submit", class: danger ? "danger" : "primary" }, submitLabel);
  const form = el(
    "form",
    { class: "small-form", "aria-label": title },
    el("h3", {}, title),
    el("div", { class: "form-grid" }, fields.map(([label, node, hint]) => field(label, node, hint).wrap)),
    el("div", { class: "form-actions" }, button),
    status.node,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = {};
    for (const [, node] of fields) values[node.name] = node.type === "checkbox" ? node.checked : node.value;
    button.disabled = true;
    status.info("Working…");
    try {
      const msg = await onSubmit(values, status);
      if (typeof msg === "string") status.ok(msg);
      else if (msg !== false) status.ok("Done.");
    } catch (err) {
      status.error(err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

export function when(iso) {
  return formatDateTime(iso);
}

/** A section with a heading and a body that `load()` refills. */
export function section(title, { actions = [] } = {}) {
  const body = el("div", { class: "section-body" });
  const node = el("section", { class: "admin-section" }, el("div", { class: "section-head" }, el("h2", {}, title), ...actions), body);
  return { node, body, set: (...children) => setChildren(body, ...children) };
}

/** Key/value pairs as a definition list (values as text, nested objects as JSON text). */
export function facts(obj) {
  return el(
    "dl",
    { class: "facts" },
    Object.entries(obj || {}).flatMap(([k, v]) => [
      el("dt", {}, k),
      el("dd", {}, v !== null && typeof v === "object" ? JSON.stringify(v) : String(v ?? "")),
    ]),
  );
}
