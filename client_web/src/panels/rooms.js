// The room list (`room:list`) with occupancy; joining is the app's (it owns the room state).

import { describeError } from "../net.js";
import { el, openDialog, setChildren } from "../ui.js";

/** Opens the room list as a dialog; resolves with the chosen slug (or undefined). */
export function chooseRoom(conn, { current = null, reason = "" } = {}) {
  return openDialog(
    "Rooms",
    (close) => {
      const list = el("ul", { class: "room-list", "aria-label": "Rooms" });
      const status = el("p", { class: "muted", role: "status" }, "Loading rooms…");
      const refresh = el("button", { type: "button", class: "secondary", onclick: () => load() }, "Refresh");
      async function load() {
        status.textContent = "Loading rooms…";
        const reply = await conn.request("room:list", {});
        if (!reply.ok) {
          status.textContent = describeError(reply.error);
          return;
        }
        const rooms = reply.rooms || [];
        status.textContent = rooms.length ? `${rooms.length} rooms` : "There are no rooms you can enter.";
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
                el("span", { class: "room-occupancy", "aria-label": `${r.occupants} of ${r.capacity} people` }, `${r.occupants} / ${r.capacity}`),
                r.access === "private" ? el("span", { class: "badge" }, "private") : null,
                !current && r.slug === "plaza" ? el("span", { class: "badge start" }, "Start here: the guide waits by the fountain") : null,
                r.description ? el("span", { class: "room-description" }, r.description) : null,
                r.inside?.length ? el("span", { class: "room-inside" }, `Inside: ${r.inside.map((p) => p.name).join(", ")}`) : null,
              ),
              el(
                "button",
                {
                  type: "button",
                  class: "primary",
                  disabled: here || full,
                  "aria-label": here ? `You are in ${r.name}` : full ? `${r.name} is full` : `Join ${r.name}`,
                  onclick: () => close(r.slug),
                },
                here ? "You are here" : full ? "Full" : "Join",
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
