// Your profile: display name, reading language and looks (`profile:update`).

import { LANGUAGES, describeError, languageHint } from "../net.js";
import { el, field, openDialog, toast } from "../ui.js";
import { yourDataSection } from "./mydata.js";

const HATS = ["none", "straw", "cap", "beanie", "top", "crown", "flower"];

/** me: {display_name, language, appearance}; resolves with the saved profile (or undefined). */
export function editProfile(conn, me) {
  return openDialog("Your profile", (close) => {
    const a = me.appearance || {};
    const name = el("input", { type: "text", maxLength: 32, value: me.display_name || "", required: true, autofocus: true, name: "display_name" });
    const language = el("select", { name: "language" }, LANGUAGES.map(([code, label]) => el("option", { value: code }, label)));
    language.value = me.language || "en";
    const colors = {};
    const colorFields = [
      ["body", "Skin", "#e0a96d"],
      ["hair", "Hair", "#3d2b1f"],
      ["shirt", "Shirt", "#2a9d8f"],
      ["pants", "Trousers", "#33415c"],
    ].map(([key, label, def]) => {
      colors[key] = el("input", { type: "color", value: a[key] || def, name: key });
      return field(label, colors[key]).wrap;
    });
    const hat = el("select", { name: "hat" }, HATS.map((h) => el("option", { value: h }, h === "none" ? "No hat" : h)));
    hat.value = a.hat || "none";
    const status = el("p", { class: "form-error", role: "alert" });
    const submit = el("button", { type: "submit", class: "primary" }, "Save");
    const languageField = field("Language", language, "The language you chat in.");
    languageHint(languageField.wrap.querySelector(".hint"));
    const form = el(
      "form",
      { class: "dialog-body profile-form" },
      field("Display name", name).wrap,
      languageField.wrap,
      el("fieldset", { class: "looks" }, el("legend", {}, "Looks"), colorFields, field("Hat", hat).wrap),
      yourDataSection(conn),
      status,
      el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "secondary", onclick: () => close() }, "Cancel"), submit),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const payload = {};
      const n = name.value.trim();
      if (!n) {
        status.textContent = "Your display name cannot be empty.";
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
      toast("Profile saved.", "ok");
      close(reply.profile);
    });
    return form;
  });
}
