// Your data, in the profile: suggestions on or off (PUT /api/me/preferences; off forgets the
// activity kept for them), why each suggestion was made, a download of everything stored about
// you (GET /api/me/export, residents' memories of you included) and deleting the account after
// typing your username (POST /api/me/delete).

import { clearSession, describeError, rest } from "../net.js";
import { el, setChildren, toast } from "../ui.js";

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
      setChildren(why, s.suggestions.map((x) => el("li", {}, el("strong", {}, x.title), `: ${x.why.join("; ")}`)));
    } catch (err) {
      status.textContent = describeError(err);
    }
  }
  toggle.addEventListener("change", async () => {
    try {
      await rest("PUT", "/api/me/preferences", { token, body: { suggestions: toggle.checked } });
      toast(toggle.checked ? "Suggestions on" : "Suggestions off; what they were based on is forgotten", "ok");
      load();
    } catch (err) {
      status.textContent = describeError(err);
    }
  });

  async function download() {
    const r = await fetch("/api/me/export", { headers: { Authorization: `Bearer ${token}` } });
    if (!r.ok) return (status.textContent = "The export failed; try again.");
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: "townsquare-my-data.json" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  const confirmName = el("input", { type: "text", name: "confirm", autocomplete: "off", "aria-label": "Type your username to confirm" });
  const del = el("button", { type: "button", class: "danger" }, "Delete my account and data");
  const confirmBox = el("div", { class: "delete-confirm", hidden: true }, el("p", {}, "This deletes your account, your chat lines, what residents remember of you and your activity. Coins you spent stay in the ledger's books. Type your username to confirm:"), confirmName, el("button", { type: "button", class: "danger", onclick: () => erase() }, "Delete for good"));
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
    el("legend", {}, "Your data"),
    el("label", {}, toggle, " Suggestions for me (from my own activity)"),
    el("details", {}, el("summary", {}, "Why these suggestions?"), why),
    el("button", { type: "button", class: "secondary", onclick: download }, "Download my data"),
    del,
    confirmBox,
    status,
  );
}
