// Users: search, roles, and a person's record: strikes and sanctions (lift them), acts (warn,
// mute, kick, ban), and their wallet.
// Routes: GET /api/admin/users, POST /api/admin/users/{id}/role, GET /api/admin/moderation/users/{id},
// POST /api/admin/moderation/act, GET /api/admin/economy/users/{id}.

import { t } from "../../i18n.js";
import { el, field, formatCoins, setChildren } from "../../ui.js";
import { input, section, select, smallForm, statusLine, table, when } from "../common.js";

function sanctionText(s) {
  const where = s.scope === "room" ? ` in ${s.room}` : "";
  const until = s.expires_at ? ` until ${when(s.expires_at)}` : " until lifted";
  return `${s.kind}${where}${s.kind === "mute" || s.kind === "ban" ? until : ""}: ${s.reason}`;
}

function userDetail(api, ctx, userId, onChanged) {
  const wrap = el("div", { class: "user-detail", dataset: { user: userId } });
  const status = statusLine();
  const record = section("Sanctions and strikes");
  const wallet = section("Wallet");

  async function loadRecord() {
    try {
      const r = await api.get(`/api/admin/moderation/users/${encodeURIComponent(userId)}`);
      const active = r.active || [];
      record.set(
        el("p", {}, `${r.recent_strikes ?? 0} recent strike(s); ${(r.strikes || []).length} in all.`),
        el("h3", {}, t("admin.heading.active")),
        active.length
          ? el(
              "ul",
              { class: "sanctions" },
              active.map((s) => {
                const st = statusLine();
                return el(
                  "li",
                  { class: `sanction ${s.kind}`, dataset: { id: s.id, kind: s.kind } },
                  el("span", {}, sanctionText(s)),
                  " ",
                  el(
                    "button",
                    {
                      type: "button",
                      class: "secondary",
                      "aria-label": `Lift the ${s.kind}`,
                      onclick: async () => {
                        try {
                          await api.post("/api/admin/moderation/act", { user_id: userId, action: "lift", sanction_id: s.id, reason: "lifted by a moderator" });
                          st.ok("Lifted.");
                          setTimeout(loadRecord, 600);
                        } catch (err) {
                          st.error(err);
                        }
                      },
                    },
                    "Lift",
                  ),
                  st.node,
                );
              }),
            )
          : el("p", { class: "muted" }, "No active mute or ban."),
        el("details", {}, el("summary", {}, "History"), table([["When", (s) => when(s.created_at)], ["What", (s) => sanctionText(s)], ["Lifted", (s) => (s.lifted_at ? when(s.lifted_at) : "")]], r.sanctions || [], { empty: "No sanctions." })),
      );
    } catch (err) {
      const st = statusLine();
      st.error(err);
      record.set(st.node);
    }
  }

  async function loadWallet() {
    try {
      const w = await api.get(`/api/admin/economy/users/${encodeURIComponent(userId)}`, { limit: 10 });
      wallet.set(
        el("p", { class: "big" }, "Balance: ", el("strong", {}, formatCoins(w.balance, w.currency)), w.frozen ? el("span", { class: "badge danger" }, "frozen") : null),
        table(
          [["When", (e) => when(e.created_at)], ["Kind", (e) => e.kind], ["Amount", (e) => String(e.amount)], ["With", (e) => e.counterparty?.name || e.counterparty?.key || ""], ["Transaction", (e) => el("code", {}, e.transaction_id)]],
          w.history || [],
          { empty: "No transactions." },
        ),
      );
    } catch (err) {
      const st = statusLine();
      st.error(err);
      wallet.set(st.node);
    }
  }

  const role = select("role", ["user", "moderator", "admin"]);
  const roleReason = input("reason", { placeholder: "Why" });
  const action = select("action", [["warn", "Warn"], ["mute", "Mute"], ["kick", "Kick"], ["ban", "Ban"]], "mute");
  const minutes = input("minutes", { type: "number", min: "1", step: "1", placeholder: "until lifted" });
  const room = input("room", { placeholder: "the whole world" });
  const reason = input("reason", { placeholder: "Shown to the person", required: true });

  api
    .get("/api/admin/users", { q: "", limit: 200 })
    .then(({ users = [] }) => {
      const u = users.find((x) => x.id === userId);
      if (u) {
        role.value = u.role;
        setChildren(title, `${u.display_name} (@${u.username})`);
      }
    })
    .catch(() => {});
  const title = el("h2", {}, userId);
  setChildren(
    wrap,
    title,
    status.node,
    el(
      "div",
      { class: "forms-row" },
      smallForm("Act", [["Action", action], ["Minutes (mute, ban)", minutes], ["Room (optional)", room], ["Reason", reason]], "Apply", async (v) => {
        if (!v.reason.trim()) throw Object.assign(new Error("Give a reason: the person is told."), { words: "Give a reason: the person is told." });
        const body = { user_id: userId, action: v.action, reason: v.reason.trim() };
        if (v.minutes && ["mute", "ban"].includes(v.action)) body.minutes = Number(v.minutes);
        if (v.room.trim()) body.room = v.room.trim();
        const r = await api.post("/api/admin/moderation/act", body);
        setTimeout(loadRecord, 300);
        onChanged?.();
        return `${r.sanction?.kind || v.action} applied.`;
      }),
      smallForm("Role", [["Role", role], ["Reason", roleReason]], "Change role", async (v) => {
        const r = await api.post(`/api/admin/users/${encodeURIComponent(userId)}/role`, { role: v.role, reason: v.reason || "changed in the admin console" });
        onChanged?.();
        return `${r.user.username} is now a ${r.user.role}.`;
      }),
    ),
    record.node,
    wallet.node,
  );
  loadRecord();
  loadWallet();
  return wrap;
}

export default {
  id: "users",
  label: "Users",
  render(api, ctx, openUserId) {
    const q = el("input", { type: "search", name: "q", placeholder: "name", maxLength: 64 });
    const status = statusLine();
    const results = el("div", { class: "user-results" });
    const detail = el("div", { class: "user-detail-slot" });
    const search = el("form", { class: "search-form", role: "search", "aria-label": "Find users" }, field("Find a user", q).wrap, el("button", { type: "submit", class: "primary" }, "Search"));

    function open(id) {
      setChildren(detail, userDetail(api, ctx, id, load));
      detail.querySelector("h2")?.setAttribute("tabindex", "-1");
      detail.querySelector("h2")?.focus();
    }

    async function load() {
      try {
        const { users = [] } = await api.get("/api/admin/users", { q: q.value.trim(), limit: 50 });
        setChildren(
          results,
          table(
            [
              ["Name", (u) => u.display_name],
              ["Username", (u) => u.username],
              ["Role", (u) => u.role],
              ["Language", (u) => u.language],
              ["Joined", (u) => when(u.created_at)],
              ["", (u) => el("button", { type: "button", class: "secondary", "aria-label": `Open ${u.username}`, onclick: () => open(u.id) }, "Open")],
            ],
            users,
            { caption: "Users", empty: "No one by that name.", rowAttrs: (u) => ({ dataset: { user: u.id } }) },
          ),
        );
        status.info(`${users.length} user${users.length === 1 ? "" : "s"}`);
      } catch (err) {
        status.error(err);
      }
    }
    search.addEventListener("submit", (e) => {
      e.preventDefault();
      load();
    });
    load();
    if (openUserId) open(openUserId);
    return el("div", { class: "tab-users" }, el("section", { class: "admin-section" }, search, status.node, results), detail);
  },
};
