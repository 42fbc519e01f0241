// Residents (NPCs): who they are and where, their persona, routine and shop (edited here),
// retire / restore, and their memories (newest first, or what they would recall for a query).
// Routes: GET /api/admin/residents, GET|PATCH /api/admin/residents/{id},
// POST /api/admin/residents/{id}/retire|restore, GET /api/admin/residents/{id}/memories.

import { t } from "../../i18n.js";
import { el, field, setChildren } from "../../ui.js";
import { statusLine, table, when } from "../common.js";

const BASE = "/api/admin/residents";

function jsonArea(name, label, rows = 6) {
  return el("textarea", { name, rows, spellcheck: false, class: "json", "aria-label": label });
}

function residentCard(api, r, reload) {
  const status = statusLine();
  const persona = jsonArea("persona", `Persona of ${r.name}`, 9);
  const routine = jsonArea("routine", `Routine of ${r.name}`, 6);
  const shop = el("input", { type: "text", name: "shop", placeholder: "no shop", "aria-label": `Shop key of ${r.name}` });
  const memories = el("div", { class: "memories" });
  const query = el("input", { type: "search", name: "q", placeholder: "what would they recall about…", "aria-label": `Search ${r.name}'s memories` });
  const save = el("button", { type: "submit", class: "primary" }, "Save");
  let loaded = null;

  async function load() {
    status.info("Loading…");
    try {
      const { resident } = await api.get(`${BASE}/${encodeURIComponent(r.id)}`);
      loaded = resident;
      persona.value = JSON.stringify(resident.persona || {}, null, 2);
      routine.value = JSON.stringify(resident.routine || [], null, 2);
      shop.value = resident.shop || "";
      status.info(`Brain: ${resident.brain_in_use || resident.brain || "?"}${resident.brain_why ? ` (${resident.brain_why})` : ""} · ${resident.memories ?? 0} memories · met ${resident.people_met ?? 0} people`);
    } catch (err) {
      status.error(err);
    }
  }

  async function showMemories() {
    setChildren(memories, el("p", { class: "muted" }, "Loading memories…"));
    try {
      const data = await api.get(`${BASE}/${encodeURIComponent(r.id)}/memories`, { limit: 50, q: query.value.trim() });
      setChildren(
        memories,
        table(
          [
            ["When", (m) => when(m.created_at)],
            ["Kind", (m) => m.kind || ""],
            ["Importance", (m) => String(m.importance ?? "")],
            ["About", (m) => m.subject_name || ""],
            ["Memory", (m) => m.text || ""],
            ...(data.query ? [["Score", (m) => String(m.score ?? "")]] : []),
          ],
          data.memories || [],
          { caption: `${r.name}'s memories`, empty: "No memories yet." },
        ),
      );
    } catch (err) {
      const st = statusLine();
      st.error(err);
      setChildren(memories, st.node);
    }
  }

  const form = el(
    "form",
    { class: "resident-form", "aria-label": `Edit ${r.name}` },
    el("div", { class: "form-grid wide" }, field("Persona (JSON)", persona).wrap, field("Routine (JSON)", routine).wrap),
    field("Shop (key)", shop, "the shop this resident keeps, e.g. tobin; empty: none").wrap,
    el(
      "div",
      { class: "form-actions" },
      el("button", { type: "button", class: r.status === "retired" ? "primary" : "danger", onclick: () => lifecycle(r.status === "retired" ? "restore" : "retire") }, r.status === "retired" ? "Restore" : "Retire"),
      save,
    ),
    status.node,
    el("div", { class: "search-form" }, query, el("button", { type: "button", class: "secondary", onclick: showMemories }, "Show memories")),
    memories,
  );

  async function lifecycle(what) {
    try {
      await api.post(`${BASE}/${encodeURIComponent(r.id)}/${what}`, { reason: "admin console" });
      status.ok(what === "retire" ? "Retired: they left the world (memories kept)." : "Restored.");
      setTimeout(reload, 800);
    } catch (err) {
      status.error(err);
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { reason: "admin console" };
    try {
      const p = JSON.parse(persona.value);
      const rt = JSON.parse(routine.value);
      if (!loaded || JSON.stringify(p) !== JSON.stringify(loaded.persona || {})) body.persona = p;
      if (!loaded || JSON.stringify(rt) !== JSON.stringify(loaded.routine || [])) body.routine = rt;
    } catch (err) {
      status.error({ words: `That is not valid JSON: ${err.message}` });
      return;
    }
    if ((shop.value.trim() || null) !== (loaded?.shop || null)) body.shop = shop.value.trim() || null;
    if (Object.keys(body).length === 1) return status.info("Nothing changed.");
    save.disabled = true;
    try {
      const { resident } = await api.patch(`${BASE}/${encodeURIComponent(r.id)}`, body);
      loaded = resident;
      status.ok("Saved: it applies at once.");
    } catch (err) {
      status.error(err);
    } finally {
      save.disabled = false;
    }
  });

  const details = el(
    "details",
    { class: "resident", dataset: { id: r.id, key: r.key || "" } },
    el("summary", {}, el("strong", {}, r.name), ` · ${r.role || "resident"} · ${r.status === "retired" ? "retired" : r.room ? `in ${r.room}` : "away"}${r.shop ? " · keeps a shop" : ""} · ${r.memories ?? 0} memories`),
    form,
  );
  details.addEventListener("toggle", () => {
    if (details.open && !loaded) load();
  });
  return details;
}

export default {
  id: "residents",
  label: "Residents",
  render(api) {
    const status = statusLine();
    const list = el("div", { class: "residents" });
    async function load() {
      status.info("Loading residents…");
      try {
        const data = await api.get(BASE);
        const rows = data.residents || [];
        setChildren(list, rows.map((r) => residentCard(api, r, load)));
        status.info(rows.length ? `${rows.length} residents${data.clock ? ` · world clock ${data.clock}` : ""}` : "No residents.");
      } catch (err) {
        setChildren(list);
        status.error(err);
      }
    }
    load();
    return el("div", { class: "tab-residents" }, el("section", { class: "admin-section" }, el("h2", {}, t("admin.heading.residents")), status.node, list));
  },
};
