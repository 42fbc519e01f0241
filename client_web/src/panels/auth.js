// Sign up / log in. REST /api/auth/register and /api/auth/login -> {token, user}.

import { LANGUAGES, browserLanguage, languageHint, login, register } from "../net.js";
import { setLanguage, t } from "../i18n.js";
import { el, field } from "../ui.js";

/** The Language field; its hint says whether this world translates chat (honestly, once it knows). */
function languageField(language) {
  const f = field(t("language.label"), language, t("language.hint"));
  languageHint(f.wrap.querySelector(".hint"));
  return f.wrap;
}

/** Renders the form into `host`; calls onDone({token, user}, remember) once logged in. */
export function renderAuth(host, onDone, { notice = "", keep = null } = {}) {
  let mode = "login";
  const status = el("p", { class: "form-error", role: "alert", "aria-live": "assertive" });
  const username = el("input", { name: "username", autocomplete: "username", required: true, minLength: 3, maxLength: 24, pattern: "[A-Za-z0-9_]{3,24}", spellcheck: false });
  const password = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true, minLength: 8, maxLength: 128 });
  const displayName = el("input", { name: "display_name", autocomplete: "nickname", maxLength: 32 });
  const language = el("select", { name: "language" }, LANGUAGES.map(([code, name]) => el("option", { value: code }, name)));
  language.value = keep?.language || browserLanguage();
  const remember = el("input", { type: "checkbox", name: "remember" });
  const submit = el("button", { type: "submit", class: "primary" }, t("auth.log_in"));
  const extra = el(
    "div",
    { class: "register-only", hidden: true },
    field(t("auth.display_name"), displayName, t("auth.display_name_hint")).wrap,
    languageField(language),
  );
  const tabLogin = el("button", { type: "button", role: "tab", id: "tab-login", "aria-selected": "true", "aria-controls": "auth-form" }, t("auth.log_in"));
  const tabRegister = el("button", { type: "button", role: "tab", id: "tab-register", "aria-selected": "false", "aria-controls": "auth-form" }, t("auth.sign_up"));
  const form = el(
    "form",
    { id: "auth-form", class: "auth-form", role: "tabpanel", "aria-labelledby": "tab-login", novalidate: true },
    field(t("auth.username"), username, t("auth.username_hint")).wrap,
    field(t("auth.password"), password, t("auth.password_hint")).wrap,
    extra,
    el("label", { class: "check" }, remember, " ", t("auth.remember")),
    status,
    submit,
  );

  function setMode(next) {
    mode = next;
    const reg = mode === "register";
    tabLogin.setAttribute("aria-selected", String(!reg));
    tabRegister.setAttribute("aria-selected", String(reg));
    form.setAttribute("aria-labelledby", reg ? "tab-register" : "tab-login");
    extra.hidden = !reg;
    submit.textContent = reg ? t("auth.create_account") : t("auth.log_in");
    password.autocomplete = reg ? "new-password" : "current-password";
    status.textContent = "";
  }
  // Choosing a language at sign-up switches the form to it at once (what was typed stays).
  language.addEventListener("change", () => {
    setLanguage(language.value);
    const values = { mode, language: language.value, username: username.value, password: password.value, displayName: displayName.value, remember: remember.checked };
    host.querySelector("main.auth")?.remove();
    renderAuth(host, onDone, { notice, keep: values });
  });
  tabLogin.addEventListener("click", () => setMode("login"));
  tabRegister.addEventListener("click", () => setMode("register"));
  for (const tab of [tabLogin, tabRegister]) {
    tab.addEventListener("keydown", (e) => {
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        const other = tab === tabLogin ? tabRegister : tabLogin;
        other.focus();
        other.click();
      }
    });
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    status.textContent = "";
    if (!/^[A-Za-z0-9_]{3,24}$/.test(username.value)) {
      status.textContent = t("auth.username_invalid");
      username.focus();
      return;
    }
    if (password.value.length < 8) {
      status.textContent = t("auth.password_invalid");
      password.focus();
      return;
    }
    submit.disabled = true;
    try {
      const result =
        mode === "register"
          ? await register({ username: username.value, password: password.value, language: language.value, display_name: displayName.value.trim() })
          : await login({ username: username.value, password: password.value });
      onDone(result, remember.checked);
    } catch (err) {
      status.textContent = err.words || String(err.message || err);
    } finally {
      submit.disabled = false;
    }
  });

  host.append(
    el(
      "main",
      { class: "auth", "aria-labelledby": "auth-title" },
      el("h1", { id: "auth-title" }, t("app.name")),
      el("p", { class: "tagline" }, t("auth.tagline")),
      notice ? el("p", { class: "notice", role: "alert" }, notice) : null,
      el("div", { class: "tabs", role: "tablist", "aria-label": t("auth.tabs_label") }, tabLogin, tabRegister),
      form,
    ),
  );
  if (keep) {
    username.value = keep.username;
    password.value = keep.password;
    displayName.value = keep.displayName;
    remember.checked = keep.remember;
    setMode(keep.mode);
    language.focus();
  } else {
    username.focus();
  }
}
