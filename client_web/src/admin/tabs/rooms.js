// Rooms: create, edit name / capacity / access, archive and restore, upload a map.
// Routes: GET /api/admin/rooms, POST /api/admin/rooms, PATCH /api/admin/rooms/{slug}, PUT /api/admin/rooms/{slug}/map.

import { t } from "../../i18n.js";
import { confirmDialog, el, setChildren } from "../../ui.js";
import { input, select, smallForm, statusLine, table } from "../common.js";
import { mapUpload } from "../roommap.js";

function editRow(api, room, reload) {
  const st = statusLine();
  const capacity = el("input", { type: "number", min: "1", max: "5000", value: String(room.capacity), class: "narrow", "aria-label": `Capacity of ${room.name}` });
  const access = select("access", ["public", "private"], room.access);
  access.setAttribute("aria-label", `Access to ${room.name}`);
  const save = el("button", { type: "button", class: "primary" }, "Save");
  const archive = el("button", { type: "button", class: room.archived ? "secondary" : "danger" }, room.archived ? "Restore" : "Archive");
  async function patch(changes, done) {
    try {
      await api.patch(`/api/admin/rooms/${encodeURIComponent(room.slug)}`, { ...changes, reason: "admin console" });
      st.ok(done);
      setTimeout(reload, 800);
    } catch (err) {
      st.error(err);
    }
  }
  save.addEventListener("click", () => {
    const changes = {};
    if (Number(capacity.value) !== room.capacity) changes.capacity = Number(capacity.value);
    if (access.value !== room.access) changes.access = access.value;
    if (!Object.keys(changes).length) return st.info("Nothing changed.");
    patch(changes, "Saved.");
  });
  archive.addEventListener("click", async () => {
    if (!room.archived && !(await confirmDialog(`Archive ${room.name}?`, "No one can join it afterwards; people inside stay until they leave.", "Archive"))) return;
    patch({ archived: !room.archived }, room.archived ? "Restored." : "Archived.");
  });
  return el("div", { class: "row-edit" }, capacity, access, save, archive, st.node);
}

export default {
  id: "rooms",
  label: "Rooms",
  render(api, ctx) {
    const status = statusLine();
    const list = el("div", { class: "rooms-table" });
    async function load() {
      try {
        const { rooms = [] } = await api.get("/api/admin/rooms");
        setChildren(
          list,
          table(
            [
              ["Room", (r) => el("span", {}, el("strong", {}, r.name), el("br"), el("code", {}, r.slug))],
              ["Size", (r) => `${r.width} × ${r.height}`],
              ["State", (r) => (r.archived ? "archived" : r.access)],
              ["Capacity / access", (r) => editRow(api, r, load)],
              ["Map (Tiled .tmj)", (r) => mapUpload(api, r, load)],
            ],
            rooms,
            { caption: "Rooms", rowAttrs: (r) => ({ dataset: { slug: r.slug }, class: r.archived ? "archived" : "" }) },
          ),
        );
        status.info(`${rooms.length} rooms`);
      } catch (err) {
        status.error(err);
      }
    }
    const create = smallForm(
      "New room",
      [
        ["Slug", input("slug", { required: true, pattern: "[a-z0-9][a-z0-9_\\-]{1,46}", placeholder: "garden" }), "lower-case letters, digits, - and _"],
        ["Name", input("name", { required: true, placeholder: "The Garden" })],
        ["Width (tiles)", input("width", { type: "number", min: "4", max: "200", value: "32" })],
        ["Height (tiles)", input("height", { type: "number", min: "4", max: "200", value: "24" })],
        ["Capacity", input("capacity", { type: "number", min: "1", max: "5000", value: "50" })],
        ["Access", select("access", ["public", "private"], "public")],
        ["Description", input("description", { placeholder: "optional" })],
      ],
      "Create room",
      async (v) => {
        const r = await api.post("/api/admin/rooms", {
          slug: v.slug.trim(),
          name: v.name.trim(),
          width: Number(v.width),
          height: Number(v.height),
          capacity: Number(v.capacity),
          access: v.access,
          description: v.description,
          reason: "admin console",
        });
        load();
        return `Created ${r.room.name}.`;
      },
    );
    load();
    return el(
      "div",
      { class: "tab-rooms" },
      ctx.isAdmin ? null : el("p", { class: "notice" }, "Changing rooms needs the admin role: the server will refuse a moderator."),
      el("section", { class: "admin-section" }, el("h2", {}, t("admin.heading.rooms")), status.node, list),
      el("section", { class: "admin-section" }, create),
    );
  },
};
