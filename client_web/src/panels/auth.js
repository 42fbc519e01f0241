// Sign up / log in. REST /api/auth/register and /api/auth/login -> {token, user}.

import { LANGUAGES, browserLanguage, languageHint, login, register } from "../net.js";
import { el, field } from "../ui.js";

/** The Language field; its hint says whether this world translates chat (honestly, once it knows). */
function languageField(language) {
  const f = field("Language", language, "The language you chat in.");
  languageHint(f.wrap.querySelector(".hint"));
  return f.wrap;
}

/** Renders the form into `host`; calls onDone({token, user}, remember) once logged in. */
export function renderAuth(host, onDone, { notice = "" } = {}) {
  let mode = "login";
  const status = el("p", { class: "form-error", role: "alert", "aria-live": "assertive" });
  const username = el("input", { name: "username", autocomplete: "username", required: true, minLength: 3, maxLength: 24, pattern: "[A-Za-z0-9_]{3,24}", spellcheck: false });
  const password = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true, minLength: 8, maxLength: 128 });
  const displayName = el("input", { name: "display_name", autocomplete: "nickname", maxLength: 32 });
  const language = el("select", { name: "language" }, LANGUAGES.map(([code, name]) => el("option", { value: code }, name)));
  language.value = browserLanguage();
  const remember = el("input", { type: "checkbox", name: "remember" });
  const submit = el("button", { type: "submit", class: "primary" }, "Log in");
  const extra = el(
    "div",
    { class: "register-only", hidden: true },
    field("Display name (optional)", displayName, "How others see you; you can change it later.").wrap,
    languageField(language),
  );
  const tabLogin = el("button", { type: "button", role: "tab", id: "tab-login", "aria-selected": "true", "aria-controls": "auth-form" }, "Log in");
  const tabRegister = el("button", { type: "button", role: "tab", id: "tab-register", "aria-selected": "false", "aria-controls": "auth-form" }, "Sign up");
  const form = el(
    "form",
    { id: "auth-form", class: "auth-form", role: "tabpanel", "aria-labelledby": "tab-login", novalidate: true },
    field("Username", username, "3 to 24 letters, digits or _").wrap,
    field("Password", password, "At least 8 characters").wrap,
    extra,
    el("label", { class: "check" }, remember, " Stay logged in on this device"),
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
    submit.textContent = reg ? "Create account" : "Log in";
    password.autocomplete = reg ? "new-password" : "current-password";
    status.textContent = "";
  }
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
      status.textContent = "Your username must be 3 to 24 letters, digits or _.";
      username.focus();
      return;
    }
    if (password.value.length < 8) {
      status.textContent = "Your password must be at least 8 characters.";
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
      el("h1", { id: "auth-title" }, "Townsquare"),
      el("p", { class: "tagline" }, "Walk around, meet people and the town's residents, chat in your own language."),
      notice ? el("p", { class: "notice", role: "alert" }, notice) : null,
      el("div", { class: "tabs", role: "tablist", "aria-label": "Log in or sign up" }, tabLogin, tabRegister),
      form,
    ),
  );
  username.focus();
}
