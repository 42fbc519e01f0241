// The admin console (/admin): moderators and admins only. Everyone else is told so, and the
// API refuses them too (403 forbidden). One module per tab; each talks to /api/admin/...
// The console's frame (navigation, headings, notices) follows the account's language through the
// world client's catalogues (admin.*); the tabs' tables and forms are still in English.

import "../styles.css";
import "./admin.css";
import { browserUiLanguage, setLanguage, t } from "../i18n.js";
import { clearSession, loadSession, rest, saveSession, translationStatus } from "../net.js";
import { renderAuth } from "../panels/auth.js";
import { clear, el } from "../ui.js";
import { AdminApi } from "./api.js";
import economy from "./tabs/economy.js";
import events from "./tabs/events.js";
import live from "./tabs/live.js";
import moderation from "./tabs/moderation.js";
import residents from "./tabs/residents.js";
import rooms from "./tabs/rooms.js";
import users from "./tabs/users.js";

const TABS = [live, moderation, users, rooms, economy, residents, events];
const root = document.getElementById("admin");
const STAFF = ["moderator", "admin"];

function login(notice = "") {
  clear(root);
  root.removeAttribute("aria-busy");
  renderAuth(
    root,
    (result, remember) => {
      saveSession(result, remember);
      start();
    },
    { notice: notice || t("admin.login_notice") },
  );
}

function refuse(user) {
  clear(root);
  root.removeAttribute("aria-busy");
  root.append(
    el(
      "main",
      { class: "refusal", "aria-labelledby": "refusal-title" },
      el("h1", { id: "refusal-title" }, t("admin.refused_title")),
      el("p", { role: "alert" }, t("admin.refused_text", { name: user.username, role: roleName(user.role) })),
      el(
        "p",
        {},
        el("a", { href: "/" }, t("admin.back_to_world")),
        " · ",
        el("button", { type: "button", class: "link", onclick: () => { clearSession(); login(); } }, t("admin.switch_account")),
      ),
    ),
  );
}

async function start() {
  const session = loadSession();
  if (!session) return login();
  let me;
  try {
    me = (await rest("GET", "/api/me", { token: session.token })).user;
  } catch (err) {
    if (err.code === "unauthorized") {
      clearSession();
      return login(t("admin.session_ended"));
    }
    clear(root);
    root.append(el("p", { class: "status-line error", role: "alert" }, err.words));
    return;
  }
  setLanguage(me.language);
  if (!STAFF.includes(me.role)) return refuse(me);
  const api = new AdminApi(session.token);
  renderConsole(api, me);
}

/** A banner over every tab while the world has no translation model, with the setting that enables it. */
async function translationBanner(host) {
  const tr = await translationStatus();
  if (!tr || tr.available) return;
  host.append(
    el(
      "div",
      { class: "admin-banner", role: "status", "aria-label": t("admin.translation.label") },
      el("strong", {}, tr.configured ? t("admin.translation.broken") : t("admin.translation.off"), " "),
      tr.configured ? t("admin.translation.broken_text") : `${t("admin.translation.off_text")} `,
      tr.configured ? null : el("code", {}, tr.enable || "set TOWNSQUARE_MODELS__TRANSLATION"),
      ".",
    ),
  );
}

function renderConsole(api, me) {
  clear(root);
  root.removeAttribute("aria-busy");
  const tablist = el("div", { class: "admin-tabs", role: "tablist", "aria-label": t("admin.tabs_label") });
  const panel = el("div", { class: "admin-panel", role: "tabpanel", tabindex: "-1" });
  const buttons = new Map();
  const ctx = { me, isAdmin: me.role === "admin", show: (id, arg) => show(id, arg) };

  function show(id, arg) {
    const tab = TABS.find((x) => x.id === id) || TABS[0];
    for (const [tid, b] of buttons) {
      const on = tid === tab.id;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute("aria-labelledby", `tab-${tab.id}`);
    panel.dataset.tab = tab.id;
    const path = `/admin/${tab.id}`;
    if (location.pathname !== path) history.replaceState(null, "", path);
    clear(panel);
    panel.dispose?.();
    panel.dispose = null;
    const node = tab.render(api, ctx, arg);
    panel.dispose = node.dispose;
    panel.append(node);
    document.title = `${tabLabel(tab)} · ${t("admin.title")}`;
  }

  TABS.forEach((tab, i) => {
    const b = el("button", { type: "button", role: "tab", id: `tab-${tab.id}`, "aria-controls": "admin-panel", onclick: () => show(tab.id) }, tabLabel(tab));
    b.addEventListener("keydown", (e) => {
      const k = e.key;
      if (k !== "ArrowRight" && k !== "ArrowLeft" && k !== "Home" && k !== "End") return;
      e.preventDefault();
      const n = TABS.length;
      const j = k === "Home" ? 0 : k === "End" ? n - 1 : (i + (k === "ArrowRight" ? 1 : n - 1)) % n;
      show(TABS[j].id);
      buttons.get(TABS[j].id).focus();
    });
    buttons.set(tab.id, b);
    tablist.append(b);
  });
  panel.id = "admin-panel";
  const banners = el("div", { class: "admin-banners" });

  root.append(
    el(
      "header",
      { class: "topbar" },
      el("h1", { class: "brand" }, t("admin.title")),
      el("span", { class: "room-title" }, ""),
      el(
        "div",
        { class: "topbar-right" },
        el("span", { class: "who" }, t("admin.who", { name: me.username, role: roleName(me.role) })),
        el("a", { href: "/", class: "button-link" }, t("admin.world")),
        el("button", { type: "button", class: "secondary", onclick: () => { clearSession(); login(); } }, t("admin.log_out")),
      ),
    ),
    el("nav", { class: "admin-nav", "aria-label": t("admin.sections") }, tablist),
    el("main", { class: "admin-main" }, banners, panel),
  );
  translationBanner(banners);
  const wanted = location.pathname.replace(/^\/admin\/?/, "").split("/")[0];
  show(TABS.some((x) => x.id === wanted) ? wanted : TABS[0].id);
}

function tabLabel(tab) {
  return t(`admin.tab.${tab.id}`, { defaultValue: tab.label });
}

function roleName(role) {
  return t(`admin.role.${role}`, { defaultValue: role });
}

setLanguage(loadSession()?.user?.language || browserUiLanguage());
start();
