// Economy: mint, burn, freeze / unfreeze, reverse a transaction, run the audit, search the
// ledger, the system accounts. Every money-moving call carries an idempotency key that is kept
// until the form's values change (a retry of the same act is not applied twice).
// Routes under /api/admin/economy/: mint, burn, freeze, unfreeze, reverse, audit, accounts, transactions,
// shops (open a shop; add an item or change its price and stock).

import { newKey } from "../../net.js";
import { el, setChildren } from "../../ui.js";
import { facts, input, section, select, smallForm, statusLine, table, userPicker, when } from "../common.js";

const KINDS = ["", "grant", "transfer", "purchase", "mint", "burn", "reversal", "npc_sale"];

/** A key per distinct attempt: same values -> same key (a retry); new values -> a new key. */
function keyKeeper() {
  let last = null;
  let key = null;
  return (values) => {
    const sig = JSON.stringify(values);
    if (sig !== last) {
      last = sig;
      key = newKey();
    }
    return key;
  };
}

/** The picked person ({user_id}) or system account ({account}) of a form's "target" picker. */
function target(fields) {
  return fields.find(([, node]) => node.name === "target")[1].resolve();
}

function txTable(rows) {
  return table(
    [
      ["When", (t) => when(t.created_at)],
      ["Kind", (t) => t.kind],
      ["Memo", (t) => t.memo || ""],
      ["Entries", (t) => el("ul", { class: "entries" }, (t.entries || []).map((e) => el("li", {}, `${e.username || e.account}: ${e.amount > 0 ? "+" : ""}${e.amount}`)))],
      ["Id", (t) => el("code", {}, t.id)],
      ["", (t) => (t.reversed_by ? el("span", { class: "badge" }, "reversed") : t.reverses ? el("span", { class: "badge" }, "a reversal") : "")],
    ],
    rows,
    { caption: "Transactions", empty: "No transactions match." },
  );
}

export default {
  id: "economy",
  label: "Economy",
  render(api, ctx) {
    const mintKey = keyKeeper();
    const burnKey = keyKeeper();
    const reverseKey = keyKeeper();
    const targetHint = "type a name and pick the person, or a system account (treasury, fees, shop:tobin); empty: the treasury";
    let accountList = null; // system account keys, read once for the pickers
    const accountKeys = () => (accountList ??= api.get("/api/admin/economy/accounts").then((r) => (r.accounts || []).map((a) => a.key), () => []));
    const picker = (opts = {}) => userPicker(api, "target", { accounts: accountKeys, ...opts });
    const issueFields = () => [
      ["Amount (whole coins)", input("amount", { type: "number", min: "1", step: "1", required: true })],
      ["Into / from", picker({ placeholder: "treasury" }), targetHint],
      ["Reason", input("reason", { required: true, minLength: 3 })],
    ];
    const issue = (kind, keys, fields) => async (v) => {
      const body = { amount: Number(v.amount), reason: v.reason.trim(), ...(await target(fields)) };
      body.idempotency_key = keys(body);
      const r = await api.post(`/api/admin/economy/${kind}`, body);
      loadAccounts();
      return `${kind === "mint" ? "Minted" : "Burned"} ${body.amount}${r.replayed ? " (already done: the first result)" : ""}. Transaction ${r.transaction_id}.`;
    };
    const freeze = (kind, fields) => async (v) => {
      const body = { reason: v.reason.trim(), ...(await target(fields)) };
      if (!body.user_id && !body.account) throw Object.assign(new Error("x"), { words: "Pick a person or a system account." });
      await api.post(`/api/admin/economy/${kind}`, body);
      loadAccounts();
      return kind === "freeze" ? "Frozen: every movement touching it is refused." : "Unfrozen.";
    };

    const audit = section("Audit", {
      actions: [
        el(
          "button",
          {
            type: "button",
            class: "primary",
            onclick: async () => {
              audit.set(el("p", { class: "muted" }, "Checking every invariant…"));
              try {
                const r = await api.get("/api/admin/economy/audit");
                audit.set(
                  el("p", { class: r.ok ? "status-line ok" : "status-line error", role: "status" }, r.ok ? `All checks passed (${when(r.checked_at)}).` : "Some checks FAILED."),
                  table([["Check", (c) => c.name], ["", (c) => (c.ok ? "ok" : "FAILED")], ["What", (c) => c.description], ["Offending rows", (c) => (c.offending?.length ? JSON.stringify(c.offending) : "")]], r.checks || []),
                  facts(r.figures || {}),
                );
              } catch (err) {
                const st = statusLine();
                st.error(err);
                audit.set(st.node);
              }
            },
          },
          "Run the audit",
        ),
      ],
    });

    // The starting grant: a daily treasury budget and a per-address cap keep puppet accounts from farming it.
    const grants = section("Starting grant");
    const grantFacts = el("div", { class: "grant-facts" });
    const noLimit = (n) => (n === null || n === undefined ? "no limit" : String(n));
    async function loadGrants() {
      try {
        const g = await api.get("/api/admin/economy/grants");
        setChildren(
          grantFacts,
          facts({
            "grant per new account": `${g.amount} ${g.currency}`,
            "daily budget (UTC day)": noLimit(g.daily_budget),
            "grants per address per 24 h": noLimit(g.per_address_per_day),
            "granted today": `${g.today.granted} in ${g.today.grants} grant(s); left today: ${noLimit(g.today.remaining)}`,
            "refused today": `${g.today.refused_budget} over the budget, ${g.today.refused_address_cap} over the address cap`,
          }),
        );
      } catch (err) {
        const st = statusLine();
        st.error(err);
        setChildren(grantFacts, st.node);
      }
    }
    grants.set(
      grantFacts,
      smallForm(
        "Set the grant limits",
        [
          ["Daily budget (coins)", input("daily_budget", { type: "number", min: "0", step: "1" }), "empty: no limit"],
          ["Grants per address per day", input("per_address_per_day", { type: "number", min: "0", step: "1" }), "empty: no limit"],
          ["Reason", input("reason", { required: true, minLength: 3 })],
        ],
        "Save limits",
        async (v) => {
          const num = (s) => (s === "" ? null : Number(s));
          const body = { daily_budget: num(v.daily_budget), per_address_per_day: num(v.per_address_per_day), reason: v.reason.trim() };
          const g = await api.put("/api/admin/economy/grants", body);
          loadGrants();
          return `Saved: budget ${noLimit(g.daily_budget)}, ${noLimit(g.per_address_per_day)} per address.`;
        },
      ),
    );

    const accounts = section("System accounts");
    async function loadAccounts() {
      try {
        const { accounts: rows = [] } = await api.get("/api/admin/economy/accounts");
        accounts.set(table([["Account", (a) => a.key], ["Kind", (a) => a.kind], ["Balance", (a) => String(a.balance)], ["", (a) => (a.frozen ? "frozen" : "")]], rows));
      } catch (err) {
        const st = statusLine();
        st.error(err);
        accounts.set(st.node);
      }
    }

    const results = el("div", { class: "ledger-results" });
    const ledgerUser = userPicker(api, "user", { placeholder: "anyone" });
    const search = smallForm(
      "Search the ledger",
      [
        ["Kind", select("kind", KINDS.map((k) => [k, k || "any"]), "")],
        ["Person", ledgerUser],
        ["Since", input("since", { type: "datetime-local" })],
        ["Until", input("until", { type: "datetime-local" })],
      ],
      "Search",
      async (v) => {
        const q = { kind: v.kind, user_id: (await ledgerUser.resolve()).user_id || "", limit: 50 };
        if (v.since) q.since = new Date(v.since).toISOString();
        if (v.until) q.until = new Date(v.until).toISOString();
        const { transactions = [] } = await api.get("/api/admin/economy/transactions", q);
        setChildren(results, txTable(transactions));
        return `${transactions.length} transaction(s).`;
      },
    );

    // Shops: the list reloads after each change; the forms stay (with their status lines).
    const shops = section("Shops");
    const shopList = el("div", { class: "shop-list" });
    const shopSelect = select("shop", [], "");
    async function loadShops() {
      try {
        const { shops: rows = [] } = await api.get("/api/admin/economy/shops");
        const chosen = shopSelect.value;
        setChildren(shopSelect, ...rows.map((sh) => el("option", { value: sh.key }, sh.name)));
        if (rows.some((sh) => sh.key === chosen)) shopSelect.value = chosen;
        setChildren(
          shopList,
          ...rows.map((shop) =>
            el(
              "div",
              { class: "shop-admin" },
              el("h3", {}, `${shop.name} (${shop.key}) · revenue ${shop.balance}`),
              table([["Item", (i) => `${i.name} (${i.sku})`], ["Price", (i) => String(i.price)], ["Stock", (i) => String(i.stock)]], shop.items, {
                empty: "No items yet.",
              }),
            ),
          ),
        );
      } catch (err) {
        const st = statusLine();
        st.error(err);
        setChildren(shopList, st.node);
      }
    }
    shops.set(
      shopList,
      el(
        "div",
        { class: "forms-row" },
        smallForm(
          "Add or change an item",
          [
            ["Shop", shopSelect],
            ["Item (sku)", input("sku", { required: true, maxLength: 48 }), "e.g. lantern; a new sku adds an item"],
            ["Name", input("name", { maxLength: 80 }), "empty: unchanged"],
            ["Price", input("price", { type: "number", min: "1", step: "1" }), "empty: unchanged"],
            ["Stock", input("stock", { type: "number", min: "0", step: "1" }), "empty: unchanged"],
            ["Reason", input("reason", { required: true, minLength: 3 })],
          ],
          "Save item",
          async (v) => {
            const body = { reason: v.reason.trim() };
            if (v.name.trim()) body.name = v.name.trim();
            if (v.price !== "") body.price = Number(v.price);
            if (v.stock !== "") body.stock = Number(v.stock);
            const r = await api.put(`/api/admin/economy/shops/${encodeURIComponent(v.shop)}/items/${encodeURIComponent(v.sku.trim())}`, body);
            loadShops();
            return `${r.name}: ${r.price} each, ${r.stock} in stock.`;
          },
        ),
        smallForm(
          "Open a shop",
          [
            ["Key", input("key", { required: true, pattern: "[a-z0-9][a-z0-9_\\-]*", maxLength: 48 }), "lowercase; give it to a resident in the Residents tab"],
            ["Name", input("name", { required: true, maxLength: 80 })],
            ["Reason", input("reason", { required: true, minLength: 3 })],
          ],
          "Open",
          async (v) => {
            const r = await api.post("/api/admin/economy/shops", { key: v.key.trim(), name: v.name.trim(), reason: v.reason.trim() });
            await loadShops();
            shopSelect.value = r.key;
            return `Opened ${r.name} (revenue account ${r.account}).`;
          },
        ),
      ),
    );

    const mintFields = issueFields();
    const burnFields = issueFields();
    const freezeFields = [["Account", picker({ required: true }), "a person (type a name) or a system account"], ["Reason", input("reason", { required: true })]];
    const unfreezeFields = [["Account", picker({ required: true })], ["Reason", input("reason", { required: true })]];
    loadAccounts();
    if (ctx.isAdmin) loadGrants();
    if (ctx.isAdmin) loadShops();
    return el(
      "div",
      { class: "tab-economy" },
      ctx.isAdmin ? null : el("p", { class: "notice" }, "The economy tools need the admin role: the server will refuse a moderator."),
      el(
        "div",
        { class: "forms-row" },
        smallForm("Mint", mintFields, "Mint", issue("mint", mintKey, mintFields)),
        smallForm("Burn", burnFields, "Burn", issue("burn", burnKey, burnFields), { danger: true }),
        smallForm("Freeze an account", freezeFields, "Freeze", freeze("freeze", freezeFields), { danger: true }),
        smallForm("Unfreeze an account", unfreezeFields, "Unfreeze", freeze("unfreeze", unfreezeFields)),
        smallForm("Reverse a transaction", [["Transaction id", input("transaction_id", { required: true })], ["Reason", input("reason", { required: true })]], "Reverse", async (v) => {
          const body = { transaction_id: v.transaction_id.trim(), reason: v.reason.trim() };
          body.idempotency_key = reverseKey(body);
          const r = await api.post("/api/admin/economy/reverse", body);
          return `Reversed by transaction ${r.transaction_id}.`;
        }),
      ),
      el("section", { class: "admin-section" }, search, results),
      audit.node,
      grants.node,
      accounts.node,
      shops.node,
    );
  },
};
