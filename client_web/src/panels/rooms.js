// The room list (`room:list`) with occupancy; joining is the app's (it owns the room state).

import { currentLanguage, formatNumber, t } from "../i18n.js";
import { describeError } from "../net.js";
import { el, openDialog, setChildren } from "../ui.js";

/** Opens the room list as a dialog; resolves with the chosen slug (or undefined). */
export function chooseRoom(conn, { current = null, reason = "" } = {}) {
  return openDialog(
    t("menu.rooms"),
    (close) => {
      const list = el("ul", { class: "room-list", "aria-label": t("menu.rooms") });
      const status = el("p", { class: "muted", role: "status" }, t("rooms.loading"));
      const refresh = el("button", { type: "button", class: "secondary", onclick: () => load() }, t("rooms.refresh"));
      async function load() {
        status.textContent = t("rooms.loading");
        const reply = await conn.request("room:list", {});
        if (!reply.ok) {
          status.textContent = describeError(reply.error);
          return;
        }
        const rooms = reply.rooms || [];
        status.textContent = rooms.length ? t("rooms.count", { count: rooms.length }) : t("rooms.none");
        setChildren(
          list,
          rooms.map((r) => {
            const full = r.capacity && r.occupants >= r.capacity;
            const here = r.slug === current;
            return el(
              "li",
              { class: `room-item${here ? " here" : ""}`, dataset: { slug: r.slug } },
              el(
                "div",
                { class: "room-meta" },
                el("strong", { class: "room-name" }, r.name),
                el("span", { class: "room-occupancy", "aria-label": t("rooms.occupancy", { n: formatNumber(r.occupants), of: formatNumber(r.capacity) }) }, `${formatNumber(r.occupants)} / ${formatNumber(r.capacity)}`),
                r.access === "private" ? el("span", { class: "badge" }, t("rooms.private")) : null,
                r.slug === "plaza" && !here ? el("span", { class: "badge start" }, t("rooms.start_here")) : null,
                r.description ? el("span", { class: "room-description" }, r.description) : null,
                r.inside?.length ? el("span", { class: "room-inside" }, t("rooms.inside", { names: new Intl.ListFormat(currentLanguage(), { type: "conjunction" }).format(r.inside.map((p) => p.name)) })) : null,
              ),
              el(
                "button",
                {
                  type: "button",
                  class: "primary",
                  disabled: here || full,
                  "aria-label": here ? t("rooms.you_are_in", { room: r.name }) : full ? t("rooms.is_full", { room: r.name }) : t("rooms.join_label", { room: r.name }),
                  onclick: () => close(r.slug),
                },
                here ? t("rooms.here") : full ? t("rooms.full") : t("rooms.join"),
              ),
            );
          }),
        );
        list.querySelector("button:not([disabled])")?.focus();
      }
      load();
      return el(
        "div",
        { class: "dialog-body" },
        reason ? el("p", { class: "notice", role: "alert" }, reason) : null,
        status,
        list,
        el("div", { class: "dialog-actions" }, refresh),
      );
    },
    { className: "rooms-dialog" },
  );
}
