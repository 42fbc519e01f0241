// The wallet: the balance (always visible, live from `wallet:update`), tipping someone
// (`wallet:transfer` with one idempotency key per attempt, reused on retry), the history
// (`wallet:history`) and the inventory (`inventory:list`).

import { describeError, newKey } from "../net.js";
import { el, field, formatCoins, formatDateTime, openDialog, setChildren, toast } from "../ui.js";

export class Wallet {
  constructor(conn) {
    this.conn = conn;
    this.balance = null;
    this.currency = "coins";
    this.amount = el("span", { class: "balance-amount", id: "balance" }, "…");
    this.element = el(
      "button",
      { type: "button", class: "balance", "aria-label": "Wallet: show history", title: "Wallet history", onclick: () => this.history() },
      el("span", { class: "coin", "aria-hidden": "true" }, "●"),
      " ",
      this.amount,
    );
    this.live = el("span", { class: "sr-only", role: "status", "aria-live": "polite" });
    this.element.append(this.live);
  }

  async refresh() {
    const reply = await this.conn.request("wallet:balance", {});
    if (reply.ok) this.set(reply.balance, reply.currency);
    else this.amount.textContent = "?";
  }

  set(balance, currency) {
    if (currency) this.currency = currency;
    const before = this.balance;
    this.balance = balance;
    this.amount.textContent = formatCoins(balance, this.currency);
    this.element.dataset.balance = String(balance);
    if (before !== null && before !== balance) {
      this.element.classList.remove("flash");
      void this.element.offsetWidth;
      this.element.classList.add("flash");
      this.live.textContent = `Balance: ${formatCoins(balance, this.currency)}`;
    }
  }

  /** wallet:update {balance, transaction}; tells about money that came in. */
  update(data, nameOf) {
    if (!data) return;
    this.set(data.balance);
    const t = data.transaction || {};
    if (t.amount > 0) {
      const who = t.counterparty?.name || (t.counterparty?.id && nameOf(t.counterparty.id)) || null;
      const memo = t.memo ? ` (“${t.memo}”)` : "";
      toast(who ? `${who} sent you ${formatCoins(t.amount, this.currency)}${memo}` : `You received ${formatCoins(t.amount, this.currency)}${memo}`, "ok");
    }
  }

  /** The tip dialog for one person. */
  tip(person) {
    return openDialog(`Tip ${person.name}`, (close) => {
      const amount = el("input", { type: "number", min: "1", step: "1", inputMode: "numeric", required: true, value: "10", autofocus: true, name: "amount" });
      const memo = el("input", { type: "text", maxLength: 200, name: "memo", placeholder: "Thanks!" });
      const status = el("p", { class: "form-error", role: "alert" });
      const submit = el("button", { type: "submit", class: "primary" }, "Send");
      let key = null; // one key per attempt: a retry of the same attempt reuses it
      let lastAttempt = null;
      const form = el(
        "form",
        { class: "dialog-body" },
        el("p", { class: "muted" }, `Your balance: ${this.balance === null ? "…" : formatCoins(this.balance, this.currency)}`),
        field(`Amount (${this.currency})`, amount).wrap,
        field("Note (optional)", memo).wrap,
        status,
        el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "secondary", onclick: () => close() }, "Cancel"), submit),
      );
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const n = Number(amount.value);
        if (!Number.isSafeInteger(n) || n <= 0) {
          status.textContent = "Enter a whole number of coins, more than zero.";
          amount.focus();
          return;
        }
        const attempt = `${n}|${memo.value}`;
        if (attempt !== lastAttempt) key = newKey(); // a changed tip is a new attempt
        lastAttempt = attempt;
        submit.disabled = true;
        status.textContent = "Sending…";
        const payload = { to: person.id, amount: n };
        if (memo.value.trim()) payload.memo = memo.value.trim();
        const { reply } = await this.conn.requestOnce("wallet:transfer", payload, { key });
        submit.disabled = false;
        if (!reply.ok) {
          const code = reply.error?.code;
          status.textContent = describeError(reply.error) + (["timeout", "overloaded", "offline"].includes(code) ? ". Press Send to try again (you will not pay twice)." : "");
          return;
        }
        this.set(reply.balance);
        toast(`You sent ${formatCoins(n, this.currency)} to ${person.name}.`, "ok");
        close(reply.transaction_id);
      });
      return form;
    });
  }

  history() {
    return openDialog("Wallet", () => {
      const rows = el("tbody");
      const status = el("p", { class: "muted", role: "status" }, "Loading…");
      const more = el("button", { type: "button", class: "secondary", hidden: true }, "Older");
      let before = null;
      const load = async () => {
        const payload = { limit: 20 };
        if (before) payload.before = before;
        const reply = await this.conn.request("wallet:history", payload);
        if (!reply.ok) {
          status.textContent = describeError(reply.error);
          return;
        }
        const entries = reply.entries || [];
        for (const e of entries) {
          const cp = e.counterparty;
          const who = cp ? cp.name || (cp.key ? cp.key.replace(/^shop:/, "shop ") : cp.kind) : "";
          rows.append(
            el(
              "tr",
              {},
              el("td", {}, formatDateTime(e.created_at)),
              el("td", {}, e.kind),
              el("td", { class: `num ${e.amount < 0 ? "neg" : "pos"}` }, e.amount > 0 ? `+${e.amount}` : String(e.amount)),
              el("td", {}, who),
              el("td", {}, e.memo || ""),
            ),
          );
        }
        before = entries.length ? entries[entries.length - 1].transaction_id : before;
        more.hidden = entries.length < 20;
        status.textContent = rows.children.length ? "" : "No transactions yet.";
      };
      more.addEventListener("click", load);
      load();
      return el(
        "div",
        { class: "dialog-body" },
        el("p", { class: "big" }, "Balance: ", el("strong", {}, this.balance === null ? "…" : formatCoins(this.balance, this.currency))),
        el(
          "div",
          { class: "table-wrap" },
          el(
            "table",
            { class: "table" },
            el("caption", { class: "sr-only" }, "Your transactions, newest first"),
            el("thead", {}, el("tr", {}, ["When", "What", "Amount", "With", "Note"].map((h) => el("th", { scope: "col" }, h)))),
            rows,
          ),
        ),
        status,
        el("div", { class: "dialog-actions" }, more),
      );
    });
  }

  inventory() {
    return openDialog("Inventory", () => {
      const list = el("ul", { class: "inventory-list", "aria-label": "Your items" });
      const status = el("p", { class: "muted", role: "status" }, "Loading…");
      this.conn.request("inventory:list", {}).then((reply) => {
        if (!reply.ok) {
          status.textContent = describeError(reply.error);
          return;
        }
        const items = reply.items || [];
        status.textContent = items.length ? "" : "You have no items yet. Residents at the market sell things.";
        setChildren(list, items.map((it) => el("li", { dataset: { sku: it.sku } }, el("strong", {}, `${it.qty} ×`), " ", it.name || it.sku)));
      });
      return el("div", { class: "dialog-body" }, status, list);
    });
  }
}
