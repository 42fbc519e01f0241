// Shared pieces of the admin tabs: tables, result lines, small forms. Text only, never HTML.

import { t } from "../i18n.js";
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
export function table(columns, rows, { caption, empty, rowAttrs } = {}) {
  if (!rows.length) return el("p", { class: "muted" }, empty ?? t("admin.nothing"));
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
    status.info(t("admin.working"));
    try {
      const msg = await onSubmit(values, status);
      if (typeof msg === "string") status.ok(msg);
      else if (msg !== false) status.ok(t("admin.done"));
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

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
let pickers = 0;

/**
 * A person picked by name (a combobox over GET /api/admin/users?q=), never by a typed id.
 * accounts: optional async () => [system account keys] offered too (treasury, shop:tobin).
 * The input's `resolve()` gives {user_id}, {account} or {} (empty), or throws an error with words.
 */
export function userPicker(api, name, { accounts = null, required = false, placeholder = "type a name" } = {}) {
  const id = `pick-${name}-${++pickers}`;
  const node = el("input", {
    name,
    id,
    type: "text",
    role: "combobox",
    autocomplete: "off",
    spellcheck: "false",
    required,
    placeholder,
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": `${id}-list`,
  });
  const listbox = el("ul", { id: `${id}-list`, class: "picker-list", role: "listbox", "aria-label": t("admin.matches"), hidden: true });
  const picked = el("small", { class: "picked", "aria-live": "polite" });
  let choice = null;
  let timer = null;
  let seq = 0;

  const close = () => {
    listbox.hidden = true;
    node.setAttribute("aria-expanded", "false");
  };
  const choose = (option) => {
    choice = option;
    node.value = option.value;
    picked.textContent = `→ ${option.label}`;
    close();
    node.focus();
  };
  async function matches(q, limit) {
    const { users = [] } = await api.get("/api/admin/users", { q, limit });
    const out = users.map((u) => ({ user_id: u.id, value: u.username, label: `${u.display_name} (@${u.username}, ${u.role})` }));
    if (accounts) {
      const lower = q.toLowerCase();
      for (const key of await accounts()) if (key.toLowerCase().includes(lower)) out.push({ account: key, value: key, label: `${key} (system account)` });
    }
    return out;
  }
  async function suggest() {
    if (!listbox.isConnected && node.parentNode) node.after(listbox, picked);
    const q = node.value.trim();
    const mine = ++seq;
    if (!q || UUID_RE.test(q)) return close();
    let options = [];
    try {
      options = await matches(q, 8);
    } catch {
      options = []; // suggestions are a help; resolve() reports a real error on submit
    }
    if (mine !== seq) return; // a later keystroke already asked
    setChildren(
      listbox,
      options.map((o) =>
        el(
          "li",
          {
            role: "option",
            class: "picker-option",
            tabindex: "-1",
            "aria-selected": "false",
            onmousedown: (e) => e.preventDefault(), // keep the input's focus until the click lands
            onclick: () => choose(o),
            onkeydown: (e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                choose(o);
              } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
                e.preventDefault();
                (e.key === "ArrowDown" ? e.target.nextElementSibling : e.target.previousElementSibling || node)?.focus();
              } else if (e.key === "Escape") {
                close();
                node.focus();
              }
            },
          },
          o.label,
        ),
      ),
    );
    listbox.hidden = !options.length;
    listbox.style.top = `${node.offsetTop + node.offsetHeight + 2}px`; // just under the input, over the hint
    node.setAttribute("aria-expanded", String(options.length > 0));
  }
  node.addEventListener("input", () => {
    choice = null;
    picked.textContent = "";
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
  node.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && !listbox.hidden) {
      e.preventDefault();
      listbox.firstElementChild?.focus();
    } else if (e.key === "Escape") close();
  });

  node.resolve = async () => {
    const v = node.value.trim();
    if (!v) return {};
    if (choice && choice.value === v) return choice.user_id ? { user_id: choice.user_id } : { account: choice.account };
    if (UUID_RE.test(v)) return { user_id: v };
    const lower = v.toLowerCase();
    const found = await matches(v, 50);
    const exact = found.filter((o) => o.value.toLowerCase() === lower);
    const byName = found.filter((o) => o.user_id && o.label.toLowerCase().startsWith(`${lower} (@`));
    const hit = exact.length === 1 ? exact[0] : byName.length === 1 ? byName[0] : null;
    if (hit) {
      choose(hit);
      return hit.user_id ? { user_id: hit.user_id } : { account: hit.account };
    }
    const what = accounts ? "user or system account" : "user";
    const words = found.length
      ? `“${v}” matches ${found.length} — pick one from the list.`
      : `No ${what} named “${v}”. Type part of a name and pick from the list.`;
    if (found.length) suggest();
    throw Object.assign(new Error(words), { words });
  };
  return node;
}
