// A shopkeeper's shop: `shop:list {npc}` -> items; choosing one asks for confirmation before
// paying; `shop:buy {npc, sku, qty, idempotency_key}` (one key per purchase, reused on retry).

import { describeError, newKey } from "../net.js";
import { el, formatCoins, openDialog, setChildren, toast } from "../ui.js";

export async function hasShop(conn, npc) {
  const reply = await conn.request("shop:list", { npc: npc.id });
  return reply.ok && (reply.items || []).length > 0;
}

export function openShop(conn, npc, wallet) {
  return openDialog(`${npc.name}'s shop`, (close) => {
    const body = el("div", { class: "dialog-body shop" });
    const status = el("p", { class: "form-error", role: "alert" });
    const balance = () => (wallet.balance === null ? "…" : formatCoins(wallet.balance, wallet.currency));

    async function showItems() {
      setChildren(body, el("p", { class: "muted", role: "status" }, "Looking at the wares…"));
      const reply = await conn.request("shop:list", { npc: npc.id });
      if (!reply.ok) {
        setChildren(body, el("p", { class: "form-error", role: "alert" }, describeError(reply.error)));
        return;
      }
      const items = reply.items || [];
      const list = el(
        "ul",
        { class: "shop-items", "aria-label": `Items for sale by ${npc.name}` },
        items.map((it) => {
          const qty = el("input", { type: "number", min: "1", max: String(Math.max(1, Math.min(99, it.stock))), step: "1", value: "1", class: "qty", "aria-label": `How many ${it.name}` });
          const out = it.stock <= 0;
          return el(
            "li",
            { class: "shop-item", dataset: { sku: it.sku } },
            el("span", { class: "item-name" }, it.name),
            el("span", { class: "item-price" }, formatCoins(it.price, wallet.currency)),
            el("span", { class: "item-stock muted" }, out ? "sold out" : `${it.stock} left`),
            qty,
            el("button", { type: "button", class: "primary", disabled: out, "aria-label": `Buy ${it.name}`, onclick: () => confirm(it, Number(qty.value)) }, "Buy"),
          );
        }),
      );
      setChildren(body, el("p", { class: "muted" }, `Your balance: ${balance()}`), items.length ? list : el("p", {}, "Nothing for sale today."), status);
      body.querySelector("button:not([disabled])")?.focus();
    }

    function confirm(item, qty) {
      if (!Number.isSafeInteger(qty) || qty < 1) {
        status.textContent = "Choose how many, a whole number from 1.";
        return;
      }
      const total = item.price * qty;
      const key = newKey(); // this purchase; "Try again" below reuses it
      const pay = el("button", { type: "button", class: "primary", autofocus: true }, `Pay ${formatCoins(total, wallet.currency)}`);
      const back = el("button", { type: "button", class: "secondary", onclick: showItems }, "Back");
      const result = el("p", { class: "form-error", role: "alert" });
      pay.addEventListener("click", async () => {
        pay.disabled = true;
        result.textContent = "Paying…";
        const { reply } = await conn.requestOnce("shop:buy", { npc: npc.id, sku: item.sku, qty }, { key });
        pay.disabled = false;
        if (!reply.ok) {
          result.textContent = describeError(reply.error);
          if (["timeout", "overloaded", "offline"].includes(reply.error?.code)) pay.textContent = "Try again (you will not pay twice)";
          return;
        }
        wallet.set(reply.balance);
        const owned = (reply.inventory || []).find((i) => i.sku === item.sku);
        toast(`You bought ${qty} × ${item.name}.`, "ok");
        setChildren(
          body,
          el("p", { class: "success", role: "status" }, `You bought ${qty} × ${item.name} for ${formatCoins(total, wallet.currency)}.`),
          owned ? el("p", {}, `You now have ${owned.qty} × ${owned.name}.`) : null,
          el("p", { class: "muted" }, `Your balance: ${balance()}`),
          el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "secondary", onclick: showItems }, "Keep shopping"), el("button", { type: "button", class: "primary", onclick: () => close(reply.transaction_id) }, "Done")),
        );
        body.querySelector("button.primary")?.focus();
      });
      setChildren(
        body,
        el("p", { class: "confirm-question" }, `Buy ${qty} × ${item.name} for ${formatCoins(total, wallet.currency)}?`),
        el("p", { class: "muted" }, `Your balance: ${balance()}`),
        result,
        el("div", { class: "dialog-actions" }, back, pay),
      );
      pay.focus();
    }

    showItems();
    return body;
  });
}
