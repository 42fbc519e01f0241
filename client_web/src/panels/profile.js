// Your profile: display name, reading language and looks (`profile:update`).

import { UI_LANGUAGES, t } from "../i18n.js";
import { LANGUAGES, describeError, languageHint } from "../net.js";
import { el, field, openDialog, toast } from "../ui.js";
import { yourDataSection } from "./mydata.js";

const HATS = ["none", "straw", "cap", "beanie", "top", "crown", "flower"];

/** The interface's languages first (the world's list may have more, chat-only ones). */
function languageLabel(code, label) {
  return UI_LANGUAGES.includes(code) ? label : t("profile.chat_only", { language: label });
}

/** me: {display_name, language, appearance}; resolves with the saved profile (or undefined). */
export function editProfile(conn, me) {
  return openDialog(t("profile.title"), (close) => {
    const a = me.appearance || {};
    const name = el("input", { type: "text", maxLength: 32, value: me.display_name || "", required: true, autofocus: true, name: "display_name" });
    const language = el("select", { name: "language" }, LANGUAGES.map(([code, label]) => el("option", { value: code, lang: code }, languageLabel(code, label))));
    language.value = me.language || "en";
    const colors = {};
    const colorFields = [
      ["body", "#e0a96d"],
      ["hair", "#3d2b1f"],
      ["shirt", "#2a9d8f"],
      ["pants", "#33415c"],
    ].map(([key, def]) => {
      colors[key] = el("input", { type: "color", value: a[key] || def, name: key });
      return field(t(`profile.color.${key}`), colors[key]).wrap;
    });
    const hat = el("select", { name: "hat" }, HATS.map((h) => el("option", { value: h }, t(`profile.hat.${h}`))));
    hat.value = a.hat || "none";
    const status = el("p", { class: "form-error", role: "alert" });
    const submit = el("button", { type: "submit", class: "primary" }, t("common.save"));
    const languageField = field(t("language.label"), language, t("language.hint"));
    languageHint(languageField.wrap.querySelector(".hint"));
    const form = el(
      "form",
      { class: "dialog-body profile-form" },
      field(t("profile.display_name"), name).wrap,
      languageField.wrap,
      el("fieldset", { class: "looks" }, el("legend", {}, t("profile.looks")), colorFields, field(t("profile.hat_label"), hat).wrap),
      yourDataSection(conn),
      status,
      el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "secondary", onclick: () => close() }, t("common.cancel")), submit),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const payload = {};
      const n = name.value.trim();
      if (!n) {
        status.textContent = t("profile.name_empty");
        return;
      }
      if (n !== me.display_name) payload.display_name = n;
      if (language.value !== me.language) payload.language = language.value;
      const appearance = { hat: hat.value };
      for (const [k, input] of Object.entries(colors)) appearance[k] = input.value;
      payload.appearance = appearance;
      submit.disabled = true;
      const reply = await conn.request("profile:update", payload);
      submit.disabled = false;
      if (!reply.ok) {
        status.textContent = describeError(reply.error);
        return;
      }
      toast(t("profile.saved"), "ok");
      close(reply.profile);
    });
    return form;
  });
}
