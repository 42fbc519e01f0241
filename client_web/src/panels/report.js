// Reporting a line or a person to the moderators: `report {message_id?, user_id?, reason}`.

import { t } from "../i18n.js";
import { describeError } from "../net.js";
import { el, field, openDialog, toast } from "../ui.js";

/** target: {message_id} or {user_id}; what: words for the dialog ("the message from Ana"). */
export function reportDialog(conn, target, what) {
  return openDialog(t("report.title", { what }), (close) => {
    const reason = el("textarea", { rows: 3, maxLength: 500, required: true, autofocus: true, name: "reason" });
    const status = el("p", { class: "form-error", role: "alert" });
    const submit = el("button", { type: "submit", class: "primary" }, t("report.send"));
    const form = el(
      "form",
      { class: "dialog-body" },
      el("p", {}, t("report.explain")),
      field(t("report.reason"), reason).wrap,
      status,
      el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "secondary", onclick: () => close() }, t("common.cancel")), submit),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = reason.value.trim();
      if (!text) {
        status.textContent = t("report.give_reason");
        reason.focus();
        return;
      }
      submit.disabled = true;
      const reply = await conn.request("report", { ...target, reason: text });
      submit.disabled = false;
      if (!reply.ok) {
        status.textContent = describeError(reply.error);
        return;
      }
      toast(t("report.sent"), "ok");
      close(reply.report_id);
    });
    return form;
  });
}
