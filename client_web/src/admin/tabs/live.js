// Live figures: connected users, rooms and their occupants, inference queue depth, models,
// and whatever the domains add (GET /api/admin/live), refreshed every few seconds.

import { el, setChildren } from "../../ui.js";
import { facts, section, statusLine, table } from "../common.js";

const REFRESH_MS = 5000;

function figure(label, value, id) {
  return el("div", { class: "figure", dataset: { figure: id } }, el("span", { class: "figure-value" }, String(value)), el("span", { class: "figure-label" }, label));
}

export default {
  id: "live",
  label: "Live",
  render(api) {
    const status = statusLine();
    const cards = el("div", { class: "figures", "aria-live": "polite" });
    const rooms = section("Rooms");
    const queue = section("Inference");
    const other = section("Other figures");
    let timer = null;

    async function load() {
      try {
        const { figures = {}, node } = await api.get("/api/admin/live");
        const roomCounts = figures.rooms && typeof figures.rooms === "object" ? figures.rooms : {};
        const occupied = Object.values(roomCounts).reduce((a, b) => a + (Number(b) || 0), 0);
        const q = figures.inference_queue && typeof figures.inference_queue === "object" ? figures.inference_queue : {};
        const depth = Object.values(q).reduce((a, b) => a + (Number(b) || 0), 0);
        setChildren(
          cards,
          figure("connections", figures.connections ?? "–", "connections"),
          figure("people in rooms", occupied, "in_rooms"),
          figure("rooms", Object.keys(roomCounts).length, "rooms"),
          figure("inference queue", depth, "queue"),
        );
        rooms.set(table([["Room", (r) => r[0]], ["People", (r) => String(r[1])]], Object.entries(roomCounts), { caption: "People per room" }));
        queue.set(
          el("h3", {}, "Queue depth by priority"),
          table([["Priority", (r) => ({ 0: "0 moderation", 1: "1 translation", 2: "2 NPC replies", 3: "3 NPC background" })[r[0]] || r[0]], ["Waiting", (r) => String(r[1])]], Object.entries(q), { empty: "The queue is empty." }),
          el("h3", {}, "Models"),
          facts(figures.models || {}),
        );
        const rest = { ...figures };
        for (const k of ["connections", "rooms", "inference_queue", "models"]) delete rest[k];
        other.set(facts(rest));
        status.info(`Node ${node || "?"} · updated ${new Date().toLocaleTimeString()}`);
      } catch (err) {
        status.error(err);
      }
    }

    load();
    timer = setInterval(() => {
      if (node.isConnected) load();
    }, REFRESH_MS);
    const node = el("div", { class: "tab-live" }, el("h2", { class: "sr-only" }, "Live figures"), cards, status.node, rooms.node, queue.node, other.node);
    node.dispose = () => clearInterval(timer);
    return node;
  },
};
