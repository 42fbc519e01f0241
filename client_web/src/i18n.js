// The interface's language: message catalogues (src/locales/*.json) through i18next, one per
// world language, following the account's language (switchable in the profile); dates and
// numbers through Intl in the same locale. Strings are interpolated as text, never as HTML
// (ui.js puts every string in a Text node), so i18next's HTML escaping is off.

import i18next from "i18next";
import de from "./locales/de.json";
import en from "./locales/en.json";
import es from "./locales/es.json";
import fr from "./locales/fr.json";
import pt from "./locales/pt.json";

export const UI_LANGUAGES = ["en", "es", "de", "fr", "pt"];

const i18n = i18next.createInstance();
i18n.init({
  lng: "en",
  fallbackLng: "en",
  supportedLngs: UI_LANGUAGES,
  nonExplicitSupportedLngs: true,
  resources: { en: { translation: en }, es: { translation: es }, de: { translation: de }, fr: { translation: fr }, pt: { translation: pt } },
  interpolation: { escapeValue: false },
  initImmediate: false,
  returnNull: false,
});

/** A message in the current language: t("chat.send"), t("rooms.count", {count: 3}). */
export function t(key, options) {
  return i18n.t(key, options);
}

export function currentLanguage() {
  return i18n.resolvedLanguage || "en";
}

/** Follow a language code ("es", "pt-BR"); unknown ones fall back to English. */
export function setLanguage(code) {
  const base = String(code || "en").split(/[-_]/)[0].toLowerCase();
  i18n.changeLanguage(UI_LANGUAGES.includes(base) ? base : "en");
  document.documentElement.lang = currentLanguage();
}

/** The browser's preferred interface language among ours, or English. */
export function browserUiLanguage() {
  const tags = navigator.languages?.length ? navigator.languages : [navigator.language || "en"];
  for (const tag of tags) {
    const base = String(tag).split(/[-_]/)[0].toLowerCase();
    if (UI_LANGUAGES.includes(base)) return base;
  }
  return "en";
}

/** An integer (coins, counts) with the locale's grouping: 1,234 / 1.234 / 1 234. */
export function formatNumber(n) {
  return new Intl.NumberFormat(currentLanguage()).format(n);
}

export function formatTimeOf(date) {
  return new Intl.DateTimeFormat(currentLanguage(), { hour: "2-digit", minute: "2-digit" }).format(date);
}

export function formatDateTimeOf(date) {
  return new Intl.DateTimeFormat(currentLanguage(), { dateStyle: "short", timeStyle: "short" }).format(date);
}
