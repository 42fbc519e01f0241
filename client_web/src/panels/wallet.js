// The wallet: the balance (always visible, live from `wallet:update`), tipping someone
// (`wallet:transfer` with one idempotency key per attempt, reused on retry), the history
// (`wallet:history`) and the inventory (`inventory:list`).

import { formatNumber, t } from "../i18n.js";
import { describeError, newKey } from "../net.js";

const KINDS = ["grant", "transfer", "purchase", "mint", "burn", "reversal", "npc_sale"];

/** A world account in words: a shop, the fountain, or its key. */
function accountName(key) {
  if (key.startsWith("shop:")) return t("wallet.account.shop", { key: key.slice(5) });
  return ["fountain", "treasury"].includes(key) ? t(`wallet.account.${key}`) : key;
}
import { el, field, formatCoins, formatDateTime, openDialog, setChildren, toast } from "../ui.js";

export class Wallet {
  constructor(conn) {
    this.conn = conn;
    this.balance = null;
    this.currency = "coins";
    this.amount = el("span", { class: "balance-amount", id: "balance" }, "…");
    this.element = el(
      "button",
      { type: "button", class: "balance", "aria-label": t("wallet.button_label"), title: t("wallet.button_title"), onclick: () => this.history() },
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
      this.live.textContent = t("wallet.balance_is", { amount: formatCoins(balance, this.currency) });
    }
  }

  /** wallet:update {balance, transaction}; tells about money that came in. */
  update(data, nameOf) {
    if (!data) return;
    this.set(data.balance);
    const tx = data.transaction || {};
    if (tx.amount > 0) {
      const who = tx.counterparty?.name || (tx.counterparty?.id && nameOf(tx.counterparty.id)) || null;
      const memo = tx.memo ? ` (“${tx.memo}”)` : "";
      const amount = formatCoins(tx.amount, this.currency);
      toast(who ? t("wallet.sent_you", { who, amount, memo }) : t("wallet.received", { amount, memo }), "ok");
    }
  }

  /** The tip dialog for one person. */
  tip(person) {
    return openDialog(t("wallet.tip_title", { name: person.name }), (close) => {
      const amount = el("input", { type: "number", min: "1", step: "1", inputMode: "numeric", required: true, value: "10", autofocus: true, name: "amount" });
      const memo = el("input", { type: "text", maxLength: 200, name: "memo", placeholder: t("wallet.memo_placeholder") });
      const status = el("p", { class: "form-error", role: "alert" });
      const submit = el("button", { type: "submit", class: "primary" }, t("chat.send"));
      let key = null; // one key per attempt: a retry of the same attempt reuses it
      let lastAttempt = null;
      const form = el(
        "form",
        { class: "dialog-body" },
        el("p", { class: "muted" }, t("wallet.your_balance", { amount: this.balance === null ? "…" : formatCoins(this.balance, this.currency) })),
        field(t("wallet.amount", { currency: this.currency === "coins" ? t("common.coins_word") : this.currency }), amount).wrap,
        field(t("wallet.note"), memo).wrap,
        status,
        el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "secondary", onclick: () => close() }, t("common.cancel")), submit),
      );
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const n = Number(amount.value);
        if (!Number.isSafeInteger(n) || n <= 0) {
          status.textContent = t("wallet.whole_number");
          amount.focus();
          return;
        }
        const attempt = `${n}|${memo.value}`;
        if (attempt !== lastAttempt) key = newKey(); // a changed tip is a new attempt
        lastAttempt = attempt;
        submit.disabled = true;
        status.textContent = t("wallet.sending");
        const payload = { to: person.id, amount: n };
        if (memo.value.trim()) payload.memo = memo.value.trim();
        const { reply } = await this.conn.requestOnce("wallet:transfer", payload, { key });
        submit.disabled = false;
        if (!reply.ok) {
          const code = reply.error?.code;
          status.textContent = describeError(reply.error) + (["timeout", "overloaded", "offline"].includes(code) ? `. ${t("wallet.try_again")}` : "");
          return;
        }
        this.set(reply.balance);
        toast(t("wallet.you_sent", { amount: formatCoins(n, this.currency), name: person.name }), "ok");
        close(reply.transaction_id);
      });
      return form;
    });
  }

  history() {
    this.onHistory?.();
    return openDialog(t("wallet.title"), () => {
      const rows = el("tbody");
      const status = el("p", { class: "muted", role: "status" }, t("common.loading"));
      const more = el("button", { type: "button", class: "secondary", hidden: true }, t("wallet.older"));
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
          const who = cp ? cp.name || (cp.key ? accountName(cp.key) : cp.kind) : "";
          rows.append(
            el(
              "tr",
              {},
              el("td", {}, formatDateTime(e.created_at)),
              el("td", {}, KINDS.includes(e.kind) ? t(`wallet.kind.${e.kind}`) : e.kind),
              el("td", { class: `num ${e.amount < 0 ? "neg" : "pos"}` }, e.amount > 0 ? `+${formatNumber(e.amount)}` : formatNumber(e.amount)),
              el("td", {}, who),
              el("td", {}, e.memo || ""),
            ),
          );
        }
        before = entries.length ? entries[entries.length - 1].transaction_id : before;
        more.hidden = entries.length < 20;
        status.textContent = rows.children.length ? "" : t("wallet.no_transactions");
      };
      more.addEventListener("click", load);
      load();
      return el(
        "div",
        { class: "dialog-body" },
        el("p", { class: "big" }, t("wallet.balance_label"), " ", el("strong", {}, this.balance === null ? "…" : formatCoins(this.balance, this.currency))),
        el(
          "div",
          { class: "table-wrap" },
          el(
            "table",
            { class: "table" },
            el("caption", { class: "sr-only" }, t("wallet.caption")),
            el("thead", {}, el("tr", {}, ["when", "what", "amount", "with", "note"].map((h) => el("th", { scope: "col" }, t(`wallet.col.${h}`))))),
            rows,
          ),
        ),
        status,
        el("div", { class: "dialog-actions" }, more),
      );
    });
  }

  inventory() {
    return openDialog(t("menu.inventory"), () => {
      const list = el("ul", { class: "inventory-list", "aria-label": t("wallet.your_items") });
      const status = el("p", { class: "muted", role: "status" }, t("common.loading"));
      this.conn.request("inventory:list", {}).then((reply) => {
        if (!reply.ok) {
          status.textContent = describeError(reply.error);
          return;
        }
        const items = reply.items || [];
        status.textContent = items.length ? "" : t("wallet.no_items");
        setChildren(list, items.map((it) => el("li", { dataset: { sku: it.sku } }, el("strong", {}, `${it.qty} ×`), " ", it.name || it.sku)));
      });
      return el("div", { class: "dialog-body" }, status, list);
    });
  }
}
