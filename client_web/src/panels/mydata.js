// Your data, in the profile: suggestions on or off (PUT /api/me/preferences; off forgets the
// activity kept for them), why each suggestion was made, a download of everything stored about
// you (GET /api/me/export, residents' memories of you included) and deleting the account after
// typing your username (POST /api/me/delete). Words from the catalogues (mydata.*).

import { t } from "../i18n.js";
import { clearSession, describeError, rest } from "../net.js";
import { el, setChildren, toast } from "../ui.js";
import { suggestionWords } from "./events.js";

export function yourDataSection(conn) {
  const token = conn.token;
  const toggle = el("input", { type: "checkbox", name: "suggestions" });
  const why = el("ul", { class: "suggestion-why" });
  const status = el("p", { class: "form-error", role: "alert" });

  async function load() {
    try {
      const prefs = await rest("GET", "/api/me/preferences", { token });
      toggle.checked = prefs.suggestions;
      const s = await rest("GET", "/api/me/suggestions", { token });
      const lines = s.suggestions.map((x) => suggestionWords(x)).map((w) => el("li", {}, el("strong", {}, w.title), `: ${w.why.join("; ")}`));
      setChildren(why, lines.length ? lines : el("li", { class: "muted" }, t(s.enabled ? "mydata.no_suggestions" : "mydata.suggestions_are_off")));
    } catch (err) {
      status.textContent = describeError(err);
    }
  }
  toggle.addEventListener("change", async () => {
    try {
      await rest("PUT", "/api/me/preferences", { token, body: { suggestions: toggle.checked } });
      toast(t(toggle.checked ? "mydata.turned_on" : "mydata.turned_off"), "ok");
      load();
    } catch (err) {
      status.textContent = describeError(err);
    }
  });

  async function download() {
    const r = await fetch("/api/me/export", { headers: { Authorization: `Bearer ${token}` } });
    if (!r.ok) return (status.textContent = t("mydata.export_failed"));
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: "townsquare-my-data.json" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  const confirmName = el("input", { type: "text", name: "confirm", autocomplete: "off", "aria-label": t("mydata.confirm_label") });
  const del = el("button", { type: "button", class: "danger" }, t("mydata.delete"));
  const confirmBox = el("div", { class: "delete-confirm", hidden: true }, el("p", {}, t("mydata.delete_explain")), confirmName, el("button", { type: "button", class: "danger", onclick: () => erase() }, t("mydata.delete_final")));
  del.addEventListener("click", () => {
    confirmBox.hidden = false;
    confirmName.focus();
  });

  async function erase() {
    try {
      await rest("POST", "/api/me/delete", { token, body: { confirm: confirmName.value.trim() } });
      clearSession();
      location.reload();
    } catch (err) {
      status.textContent = describeError(err);
    }
  }

  load();
  return el(
    "fieldset",
    { class: "your-data" },
    el("legend", {}, t("mydata.title")),
    el("label", {}, toggle, " ", t("mydata.suggestions_toggle")),
    el("details", {}, el("summary", {}, t("mydata.why_summary")), why),
    el("button", { type: "button", class: "secondary", onclick: download }, t("mydata.download")),
    del,
    confirmBox,
    status,
  );
}
