// A room's map in the admin console: upload a Tiled map (.tmj, exported from the Tiled editor)
// with PUT /api/admin/rooms/{slug}/map. The server validates it whole; a refusal says why and
// changes nothing.

import { el } from "../ui.js";
import { statusLine } from "./common.js";

export function mapUpload(api, room, reload) {
  const st = statusLine();
  const file = el("input", { type: "file", accept: ".tmj,.json,application/json", "aria-label": `Map file for ${room.name}` });
  const send = el("button", { type: "button", class: "secondary" }, "Upload map");
  send.addEventListener("click", async () => {
    const f = file.files?.[0];
    if (!f) return st.info("Choose a .tmj file first.");
    if (f.size > 60 * 1024) return st.error(new Error("The file is larger than 60 KiB: save the map's layers as base64 with zlib compression in Tiled."));
    let doc;
    try {
      doc = JSON.parse(await f.text());
    } catch {
      return st.error(new Error("The file is not JSON: export the map from Tiled as JSON (.tmj)."));
    }
    try {
      const r = await api.put(`/api/admin/rooms/${encodeURIComponent(room.slug)}/map?reason=admin+console`, doc);
      st.ok(`Map saved: ${r.room.width} × ${r.room.height}, ${r.room.doors.length} doors, ${r.room.spawns.length} spawn points.`);
      setTimeout(reload, 1500);
    } catch (err) {
      st.error(err);
    }
  });
  return el("div", { class: "row-edit map-upload" }, file, send, st.node);
}
