// Events and quests: what runs on the world clock (schedule / approve, pause, reject, move),
// the world's own proposals (generated: pending until approved), quests (pause / activate,
// completions and what they paid) and the budget that caps rewards; a person's data (export,
// delete after typing their username).
// Routes: GET|POST /api/admin/events, POST /api/admin/events/generate, POST /api/admin/events/{key}/status,
// GET|POST /api/admin/quests, POST /api/admin/quests/{key}/status, PUT /api/admin/quests/budget,
// GET /api/admin/users/{id}/export, POST /api/admin/users/{id}/delete.

import { t } from "../../i18n.js";
import { el, setChildren } from "../../ui.js";
import { statusLine, table } from "../common.js";

function reasonPrompt(what) {
  const r = window.prompt(`Reason (for the audit log): ${what}`);
  return r && r.trim().length >= 3 ? r.trim() : null;
}

export default {
  id: "events",
  label: "Events & quests",
  render(api) {
    const status = statusLine();
    const events = el("div", { class: "admin-events" });
    const quests = el("div", { class: "admin-quests" });
    const budget = el("p", { class: "budget" });

    async function act(fn, done) {
      try {
        await fn();
        status.ok(done);
        load();
      } catch (err) {
        status.error(err);
      }
    }

    function eventActions(e) {
      const b = (label, st, extra = {}) =>
        el("button", { type: "button", class: "secondary", onclick: () => {
          const reason = reasonPrompt(`${label} ${e.title}`);
          if (reason) act(() => api.post(`/api/admin/events/${encodeURIComponent(e.key)}/status`, { status: st, reason, ...extra }), `${e.title}: ${st}`);
        } }, label);
      const out = [];
      if (e.status !== "scheduled") out.push(b(e.status === "pending" ? "Approve" : "Schedule", "scheduled"));
      if (e.status === "scheduled") out.push(b("Pause", "paused"));
      if (e.status === "pending") out.push(b("Reject", "rejected"));
      out.push(el("button", { type: "button", class: "secondary", onclick: () => {
        const at = window.prompt(`New world time for ${e.title} (HH:MM)`, e.at);
        const reason = at && reasonPrompt(`move ${e.title} to ${at}`);
        if (reason) act(() => api.post(`/api/admin/events/${encodeURIComponent(e.key)}/status`, { status: e.status === "paused" ? "paused" : "scheduled", at, reason }), `${e.title} moved to ${at}`);
      } }, "Move"));
      return el("span", { class: "actions" }, out);
    }

    async function load() {
      try {
        const ev = await api.get("/api/admin/events");
        setChildren(events, table([
          ["Event", (e) => el("span", {}, el("strong", {}, e.title), ` (${e.key})`)],
          ["Kind", (e) => e.kind],
          ["Where / when", (e) => `${e.room}, ${e.at} for ${e.duration_min} min${e.host ? `, hosted by ${e.host}` : ""}`],
          ["Status", (e) => `${e.status}${e.running ? " · running" : ""}${e.source === "generated" ? " · generated" : ""}`],
          ["Joined", (e) => String(e.joined)],
          ["", eventActions],
        ], ev.events, { caption: "Events", rowAttrs: (e) => ({ dataset: { event: e.key } }) }));
        const q = await api.get("/api/admin/quests");
        setChildren(quests, table([
          ["Quest", (x) => el("span", {}, el("strong", {}, x.title), ` (${x.key})`)],
          ["Steps", (x) => x.steps.map((s) => s.label).join(" → ")],
          ["Reward", (x) => String(x.reward)],
          ["Status", (x) => x.status],
          ["People / done / paid", (x) => `${x.people} / ${x.completions} / ${x.paid}`],
          ["", (x) => el("button", { type: "button", class: "secondary", onclick: () => {
            const st = x.status === "active" ? "paused" : "active";
            const reason = reasonPrompt(`${st} ${x.title}`);
            if (reason) act(() => api.post(`/api/admin/quests/${encodeURIComponent(x.key)}/status`, { status: st, reason }), `${x.title}: ${st}`);
          } }, x.status === "active" ? "Pause" : "Activate")],
        ], q.quests, { caption: "Quests" }));
        budget.textContent = `Reward budget: ${q.budget.paid} of ${q.budget.budget} paid, ${q.budget.left} left · world clock ${ev.clock}`;
      } catch (err) {
        status.error(err);
      }
    }

    const budgetInput = el("input", { type: "number", min: "0", step: "1", name: "budget", "aria-label": "New reward budget" });
    const budgetForm = el("form", { class: "inline-form" }, budgetInput, el("button", { type: "submit", class: "primary" }, "Set budget"));
    budgetForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const reason = reasonPrompt("set the reward budget");
      if (reason) act(() => api.put("/api/admin/quests/budget", { budget: Number(budgetInput.value), reason }), "Budget set");
    });
    const generate = el("button", { type: "button", class: "secondary", onclick: () => {
      const reason = reasonPrompt("let the world propose an event");
      if (reason) act(() => api.post("/api/admin/events/generate", { reason }), "Proposed: it waits for your approval below");
    } }, "Propose an event");

    const who = el("input", { type: "text", name: "user_id", placeholder: "user id", "aria-label": "User id" });
    const exportBtn = el("button", { type: "button", class: "secondary", onclick: async () => {
      try {
        const data = await api.get(`/api/admin/users/${encodeURIComponent(who.value.trim())}/export`);
        const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
        const a = el("a", { href: url, download: `townsquare-${who.value.trim()}.json` });
        document.body.append(a);
        a.click();
        a.remove();
        status.ok(`Exported ${data.account?.username}: ${data.resident_memories.length} residents' memories`);
      } catch (err) {
        status.error(err);
      }
    } }, "Export their data");
    const deleteBtn = el("button", { type: "button", class: "danger", onclick: () => {
      const confirm = window.prompt("Type the person's username to delete their account and data");
      const reason = confirm && reasonPrompt(`delete ${confirm}`);
      if (reason) act(() => api.post(`/api/admin/users/${encodeURIComponent(who.value.trim())}/delete`, { confirm, reason }), `Deleted ${confirm}`);
    } }, "Delete their account and data");

    load();
    return el(
      "div",
      { class: "tab-events" },
      el("section", { class: "admin-section" }, el("h2", {}, t("admin.heading.events")), status.node, generate, events),
      el("section", { class: "admin-section" }, el("h2", {}, t("admin.heading.quests")), budget, budgetForm, quests),
      el("section", { class: "admin-section" }, el("h2", {}, t("admin.heading.person_data")), who, exportBtn, deleteBtn),
    );
  },
};
