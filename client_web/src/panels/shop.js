// A shopkeeper's shop: `shop:list {npc}` -> items; choosing one asks for confirmation before
// paying; `shop:buy {npc, sku, qty, idempotency_key}` (one key per purchase, reused on retry).

import { formatNumber, t } from "../i18n.js";
import { describeError, newKey } from "../net.js";
import { el, formatCoins, openDialog, setChildren, toast } from "../ui.js";

export async function hasShop(conn, npc) {
  const reply = await conn.request("shop:list", { npc: npc.id });
  return reply.ok && (reply.items || []).length > 0;
}

export function openShop(conn, npc, wallet) {
  return openDialog(t("shop.title", { name: npc.name }), (close) => {
    const body = el("div", { class: "dialog-body shop" });
    const status = el("p", { class: "form-error", role: "alert" });
    const balance = () => (wallet.balance === null ? "…" : formatCoins(wallet.balance, wallet.currency));

    async function showItems() {
      setChildren(body, el("p", { class: "muted", role: "status" }, t("shop.looking")));
      const reply = await conn.request("shop:list", { npc: npc.id });
      if (!reply.ok) {
        setChildren(body, el("p", { class: "form-error", role: "alert" }, describeError(reply.error)));
        return;
      }
      const items = reply.items || [];
      const list = el(
        "ul",
        { class: "shop-items", "aria-label": t("shop.items_label", { name: npc.name }) },
        items.map((it) => {
          const qty = el("input", { type: "number", min: "1", max: String(Math.max(1, Math.min(99, it.stock))), step: "1", value: "1", class: "qty", "aria-label": t("shop.quantity_of", { item: it.name }) });
          const out = it.stock <= 0;
          return el(
            "li",
            { class: "shop-item", dataset: { sku: it.sku } },
            el("span", { class: "item-name" }, it.name),
            el("span", { class: "item-price" }, formatCoins(it.price, wallet.currency)),
            el("span", { class: "item-stock muted" }, out ? t("shop.sold_out") : t("shop.left", { n: formatNumber(it.stock) })),
            qty,
            el("button", { type: "button", class: "primary", disabled: out, "aria-label": t("shop.buy_label", { item: it.name }), onclick: () => confirm(it, Number(qty.value)) }, t("shop.buy")),
          );
        }),
      );
      setChildren(body, el("p", { class: "muted" }, t("wallet.your_balance", { amount: balance() })), items.length ? list : el("p", {}, t("shop.nothing")), status);
      body.querySelector("button:not([disabled])")?.focus();
    }

    function confirm(item, qty) {
      if (!Number.isSafeInteger(qty) || qty < 1) {
        status.textContent = t("shop.choose_qty");
        return;
      }
      const total = item.price * qty;
      const key = newKey(); // this purchase; "Try again" below reuses it
      const pay = el("button", { type: "button", class: "primary", autofocus: true }, t("offer.pay", { total: formatCoins(total, wallet.currency) }));
      const back = el("button", { type: "button", class: "secondary", onclick: showItems }, t("shop.back"));
      const result = el("p", { class: "form-error", role: "alert" });
      pay.addEventListener("click", async () => {
        pay.disabled = true;
        result.textContent = t("shop.paying");
        const { reply } = await conn.requestOnce("shop:buy", { npc: npc.id, sku: item.sku, qty }, { key });
        pay.disabled = false;
        if (!reply.ok) {
          result.textContent = describeError(reply.error);
          if (["timeout", "overloaded", "offline"].includes(reply.error?.code)) pay.textContent = t("shop.try_again");
          return;
        }
        wallet.set(reply.balance);
        const owned = (reply.inventory || []).find((i) => i.sku === item.sku);
        toast(t("shop.bought", { qty, item: item.name }), "ok");
        setChildren(
          body,
          el("p", { class: "success", role: "status" }, t("shop.bought_for", { qty, item: item.name, total: formatCoins(total, wallet.currency) })),
          owned ? el("p", {}, t("shop.now_have", { qty: owned.qty, item: owned.name })) : null,
          el("p", { class: "muted" }, t("wallet.your_balance", { amount: balance() })),
          el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "secondary", onclick: showItems }, t("shop.keep_shopping")), el("button", { type: "button", class: "primary", onclick: () => close(reply.transaction_id) }, t("common.done"))),
        );
        body.querySelector("button.primary")?.focus();
      });
      setChildren(
        body,
        el("p", { class: "confirm-question" }, t("shop.confirm", { qty, item: item.name, total: formatCoins(total, wallet.currency) })),
        el("p", { class: "muted" }, t("wallet.your_balance", { amount: balance() })),
        result,
        el("div", { class: "dialog-actions" }, back, pay),
      );
      pay.focus();
    }

    showItems();
    return body;
  });
}
