// The moderation queue: flagged lines, reports and automatic actions (blocks, masks, automatic
// mutes) with the conversation around them; resolve (uphold or dismiss; keep or undo) and act on
// the person in the same step; appeals.
// Routes: GET /api/admin/moderation/queue, POST /api/admin/moderation/queue/{id}/resolve,
// GET /api/admin/moderation/appeals, POST /api/admin/moderation/appeals/{id}/resolve.

import { t } from "../../i18n.js";
import { el, field, setChildren } from "../../ui.js";
import { input, section, select, statusLine, when } from "../common.js";

function who(ref) {
  if (!ref) return "—";
  if (ref.kind === "npc") return `resident ${ref.id}`;
  return ref.username || ref.id;
}

function line(m, highlight = false) {
  const changed = m.original_text && m.original_text !== m.text;
  return el(
    "li",
    { class: `ctx-line${highlight ? " reported" : ""}${m.action === "block" ? " blocked" : ""}`, dataset: { id: m.id } },
    el("span", { class: "time" }, when(m.created_at)),
    " ",
    el("strong", {}, m.from?.name || "?"),
    m.to ? el("span", { class: "whisper-tag" }, " (whisper)") : null,
    ": ",
    el("span", { class: "text" }, m.text),
    changed ? el("span", { class: "original" }, ` [original: ${m.original_text}]`) : null,
    m.action && m.action !== "allow" ? el("span", { class: "badge" }, m.action) : null,
  );
}

const UNDO = { mute: "Undo (lift the mute)", block: "Undo (void the strike; the line stays hidden)", mask: "Undo (mark it a mistake)" };

function itemCard(item, api, ctx, reload) {
  const status = statusLine();
  const auto = item.kind === "auto";
  const done = item.details?.action;
  const outcome = auto
    ? select("outcome", [["upheld", "Keep (it was right)"], ["dismissed", UNDO[done] || "Undo"]])
    : select("outcome", [["upheld", "Uphold (a strike for the sender)"], ["dismissed", "Dismiss (no rule broken)"]]);
  const act = select("action", [["", "No further action"], ["warn", "Warn"], ["mute", "Mute"], ["kick", "Kick"], ["ban", "Ban"]]);
  const minutes = input("minutes", { type: "number", min: "1", step: "1", placeholder: "until lifted" });
  const note = el("textarea", { name: "note", rows: 2, maxLength: 1000, placeholder: "What you decided and why" });
  const submit = el("button", { type: "submit", class: "primary" }, "Resolve");
  const syncAction = () => {
    const upheld = outcome.value === "upheld";
    act.disabled = auto || !upheld || !item.target || item.target.kind === "npc";
    if (!upheld) act.value = "";
    minutes.disabled = !["mute", "ban"].includes(act.value);
  };
  outcome.addEventListener("change", syncAction);
  act.addEventListener("change", syncAction);
  syncAction();
  const form = el(
    "form",
    { class: "resolve-form", "aria-label": `Resolve ${item.kind} ${item.id}` },
    el(
      "div",
      { class: "form-grid" },
      field("Outcome", outcome).wrap,
      auto ? null : field("Action on the person", act).wrap, // kept or undone; further acts from the person's record
      auto ? null : field("Minutes (mute or ban)", minutes).wrap,
      field("Note", note).wrap,
    ),
    el("div", { class: "form-actions" }, submit),
    status.node,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { outcome: outcome.value, note: note.value.trim() };
    if (act.value && outcome.value === "upheld") {
      body.action = { action: act.value, reason: body.note || item.reason || "moderator decision" };
      if (minutes.value && ["mute", "ban"].includes(act.value)) body.action.minutes = Number(minutes.value);
    }
    submit.disabled = true;
    status.info("Resolving…");
    try {
      const r = await api.post(`/api/admin/moderation/queue/${encodeURIComponent(item.id)}/resolve`, body);
      const acted = r.action?.sanction ? `; ${r.action.sanction.kind} applied` : "";
      const muted = r.auto_mute ? "; the strikes added up to an automatic mute" : "";
      const undone = r.undone?.lifted?.length ? "; the mute is lifted" : r.undone?.voided_strikes ? "; its strike is voided" : "";
      const what = auto ? (r.outcome === "upheld" ? "kept" : "undone") : r.outcome;
      status.ok(`Resolved: ${what}${acted}${muted}${undone}. ${r.resolved?.length > 1 ? `${r.resolved.length} items about this line closed.` : ""}`);
      card.classList.add("resolved");
      card.dataset.status = r.outcome;
      form.querySelectorAll("input, select, textarea, button").forEach((n) => (n.disabled = true));
      setTimeout(reload, 1500);
    } catch (err) {
      status.error(err);
      submit.disabled = false;
    }
  });

  const m = item.message;
  const context = item.context || [];
  const card = el(
    "article",
    { class: `queue-item sev-${item.severity >= 0.8 ? "high" : item.severity >= 0.5 ? "mid" : "low"}`, dataset: { id: item.id, kind: item.kind, status: item.status }, "aria-label": `${item.kind} about ${who(item.target)}` },
    el(
      "header",
      { class: "queue-head" },
      el("span", { class: `badge kind-${item.kind}` }, auto ? `automatic ${done || "action"}` : item.kind === "report" ? "report" : "flagged"),
      el("span", { class: "severity" }, `severity ${Number(item.severity || 0).toFixed(2)}`),
      el("span", { class: "muted" }, when(item.created_at)),
      item.room ? el("span", { class: "muted" }, `in ${item.room}`) : null,
      item.reports > 1 ? el("span", { class: "badge" }, `${item.reports} reports`) : null,
    ),
    el(
      "p",
      {},
      item.reporter ? el("span", {}, `${who(item.reporter)} reported `) : el("span", {}, auto ? "Done to " : "About "),
      item.target && item.target.kind !== "npc"
        ? el("button", { type: "button", class: "link", onclick: () => ctx.show("users", item.target.id) }, who(item.target))
        : el("strong", {}, who(item.target)),
      item.reason ? el("span", {}, ` — “${item.reason}”`) : null,
      auto && done === "mute" && item.details?.until ? el("span", { class: "muted" }, ` (muted until ${when(item.details.until)})`) : null,
    ),
    m ? el("ul", { class: "the-line" }, line(m, true)) : null,
    context.length
      ? el("details", { class: "context" }, el("summary", {}, `Conversation around it (${context.length} lines)`), el("ul", { class: "ctx" }, context.map((c) => line(c, c.is_reported))))
      : null,
    item.status === "open" ? form : el("p", { class: "muted" }, `${item.status}${item.resolution_note ? `: ${item.resolution_note}` : ""}`),
  );
  return card;
}

export default {
  id: "moderation",
  label: "Moderation",
  render(api, ctx) {
    const status = statusLine();
    const filterStatus = select("status", [["open", "Open"], ["upheld", "Upheld"], ["dismissed", "Dismissed"], ["all", "All"]], "open");
    const filterKind = select("kind", [["", "Everything"], ["report", "Reports"], ["flag", "Flagged lines"], ["auto", "Automatic actions"]], "");
    const refresh = el("button", { type: "button", class: "secondary", onclick: () => load() }, "Refresh");
    const list = el("div", { class: "queue", "aria-live": "polite" });
    const appeals = section("Appeals");

    const emptyWords = () =>
      filterStatus.value !== "open"
        ? "Nothing matches."
        : { report: "No open reports.", flag: "No flagged lines waiting.", auto: "No automatic actions to look over." }[filterKind.value] ||
          "Nothing waiting: no reports, flagged lines or automatic actions to look over.";

    async function load() {
      status.info("Loading the queue…");
      try {
        const { items = [] } = await api.get("/api/admin/moderation/queue", { status: filterStatus.value, kind: filterKind.value, context: "true", limit: 50 });
        setChildren(list, items.length ? items.map((it) => itemCard(it, api, ctx, load)) : el("p", { class: "muted empty" }, emptyWords()));
        status.info(`${items.length} item${items.length === 1 ? "" : "s"}`);
      } catch (err) {
        setChildren(list);
        status.error(err);
      }
      loadAppeals();
    }

    async function loadAppeals() {
      try {
        const { appeals: rows = [] } = await api.get("/api/admin/moderation/appeals", { status: "open" });
        appeals.set(
          rows.length
            ? el(
                "ul",
                { class: "appeals" },
                rows.map((a) => {
                  const st = statusLine();
                  const note = input("note", { placeholder: "Note to the person", "aria-label": "Note" });
                  const decide = (outcome) => async () => {
                    try {
                      await api.post(`/api/admin/moderation/appeals/${encodeURIComponent(a.id)}/resolve`, { outcome, note: note.value });
                      st.ok(`Appeal ${outcome}.`);
                      setTimeout(loadAppeals, 1000);
                    } catch (err) {
                      st.error(err);
                    }
                  };
                  return el(
                    "li",
                    { class: "appeal" },
                    el("p", {}, el("strong", {}, a.username || a.user?.username || a.user_id || "?"), `: “${a.text}”`, el("span", { class: "muted" }, ` ${when(a.created_at)}`)),
                    note,
                    el("button", { type: "button", class: "primary", onclick: decide("granted") }, "Grant"),
                    el("button", { type: "button", class: "secondary", onclick: decide("denied") }, "Deny"),
                    st.node,
                  );
                }),
              )
            : el("p", { class: "muted" }, "No open appeals."),
        );
      } catch (err) {
        const st = statusLine();
        st.error(err);
        appeals.set(st.node);
      }
    }

    filterStatus.addEventListener("change", load);
    filterKind.addEventListener("change", load);
    load();
    return el(
      "div",
      { class: "tab-moderation" },
      el("section", { class: "admin-section" }, el("div", { class: "section-head" }, el("h2", {}, t("admin.heading.review_queue")), field("Status", filterStatus).wrap, field("Kind", filterKind).wrap, refresh), status.node, list),
      appeals.node,
    );
  },
};
