// Live figures: connected users, rooms and their occupants, inference queue depth, models,
// and whatever the domains add (GET /api/admin/live) as labelled tables, refreshed every few seconds.

import { t } from "../../i18n.js";
import { el, setChildren } from "../../ui.js";
import { facts, section, statusLine, table } from "../common.js";

const REFRESH_MS = 5000;

// Headings and row labels for the figures domains add; unknown keys are shown with their words spaced.
const GROUPS = { moderation: "Moderation", translation: "Translation", room_ticks: "Room simulation", residents: "Residents" };
const LABELS = {
  verdicts: "Verdicts",
  model: "Optional model",
  owned: "Rooms this node runs",
  ticks: "Ticks",
  available: "Translation model available",
  running: "Residents running here",
  residents: "Residents",
  clock: "World clock",
  budgets: "Budgets",
  world: "World",
  agents: "Agents",
  node: "Node",
};

function label(key) {
  const words = LABELS[key] || String(key).replace(/[_.]+/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function plain(value) {
  if (value === true) return "yes";
  if (value === false) return "no";
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(3);
  return String(value);
}

/** Nested figures as [label, value] rows: objects become "Parent · child", lists are joined. */
function rows(obj, prefix = []) {
  const out = [];
  for (const [k, v] of Object.entries(obj || {})) {
    const path = [...prefix, label(k)];
    if (Array.isArray(v) && v.some((x) => x && typeof x === "object")) {
      // a list of records (e.g. inference services): one labelled row per field, named by the record's own name or url
      v.forEach((x, i) => out.push(...rows(x && typeof x === "object" ? x : { value: x }, [...path, String((x && (x.name || x.url)) || i + 1)])));
    } else if (Array.isArray(v)) out.push([path.join(" · "), v.length ? v.map(plain).join(", ") : "none"]);
    else if (v && typeof v === "object") {
      const inner = rows(v, path);
      out.push(...(inner.length ? inner : [[path.join(" · "), "none"]]));
    } else out.push([path.join(" · "), plain(v)]);
  }
  return out;
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
// One entry per thing (agents by key): folded away under its own summary, one table each.
const isCollection = (v) => isObject(v) && Object.keys(v).length > 0 && Object.values(v).every((x) => isObject(x) && Object.values(x).some(isObject));
const pairTable = (body, caption) => table([["Figure", (r) => r[0]], ["Value", (r) => r[1]]], body, { caption, empty: "Nothing yet." });

function figureGroups(figures) {
  const keys = Object.keys(figures).sort((a, b) => (GROUPS[a] ? 0 : 1) - (GROUPS[b] ? 0 : 1) || a.localeCompare(b));
  if (!keys.length) return el("p", { class: "muted" }, "No other figures.");
  return el(
    "div",
    { class: "figure-groups" },
    keys.map((k) => {
      const v = figures[k];
      const title = GROUPS[k] || label(k);
      if (!isObject(v)) return el("div", { class: "figure-group", dataset: { group: k } }, el("h3", {}, title), pairTable([[label(k), plain(v)]], title));
      const flat = Object.fromEntries(Object.entries(v).filter(([, x]) => !isCollection(x)));
      const folded = Object.entries(v).filter(([, x]) => isCollection(x));
      return el(
        "div",
        { class: "figure-group", dataset: { group: k } },
        el("h3", {}, title),
        pairTable(rows(flat), title),
        folded.map(([name, items]) =>
          el(
            "details",
            { class: "figure-more" },
            el("summary", {}, `${label(name)} (${Object.keys(items).length})`),
            Object.entries(items).map(([key, item]) => el("div", {}, el("h4", {}, key), pairTable(rows(item), `${label(name)}: ${key}`))),
          ),
        ),
      );
    }),
  );
}

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
          el("h3", {}, t("admin.heading.queue_depth")),
          table([["Priority", (r) => ({ 0: "0 moderation", 1: "1 translation", 2: "2 NPC replies", 3: "3 NPC background" })[r[0]] || r[0]], ["Waiting", (r) => String(r[1])]], Object.entries(q), { empty: "The queue is empty." }),
          el("h3", {}, t("admin.heading.models")),
          facts(figures.models || {}),
        );
        const rest = { ...figures };
        for (const k of ["connections", "rooms", "inference_queue", "models"]) delete rest[k];
        other.set(figureGroups(rest));
        status.info(`Node ${node || "?"} · updated ${new Date().toLocaleTimeString()}`);
      } catch (err) {
        status.error(err);
      }
    }

    load();
    timer = setInterval(() => {
      if (node.isConnected) load();
    }, REFRESH_MS);
    const node = el("div", { class: "tab-live" }, el("h2", { class: "sr-only" }, t("admin.heading.live_figures")), cards, status.node, rooms.node, queue.node, other.node);
    node.dispose = () => clearInterval(timer);
    return node;
  },
};
