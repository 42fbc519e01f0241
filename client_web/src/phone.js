// Narrow screens: the room fills the screen, people and chat become a drawer that slides up
// over it, opened from a dock of thumb-sized buttons at the bottom (chat with its unread count,
// and the menu). On a wide screen the drawer is the ordinary side column and the dock hides.
// A closed drawer is `inert` (out of the tab order and the accessibility tree) only on phones.

import { t } from "./i18n.js";
import { el } from "./ui.js";

export const PHONE = "(max-width: 760px)";

export class ChatDrawer {
  /** side: the people-and-chat column; chat: the ChatPanel (its box gets focus on opening). */
  constructor(side, chat) {
    this.side = side;
    this.chat = chat;
    this.count = 0;
    this.open = false;
    this.media = window.matchMedia(PHONE);
    this.badge = el("span", { class: "unread", "aria-hidden": "true", hidden: true });
    this.toggle = el(
      "button",
      { type: "button", class: "primary drawer-toggle", "aria-controls": side.id, "aria-expanded": "false", onclick: () => this.setOpen(!this.open) },
      el("span", { class: "drawer-toggle-label" }, t("phone.chat")),
      this.badge,
    );
    this.onMedia = () => this.apply();
    this.media.addEventListener("change", this.onMedia);
    this.onKey = (e) => {
      if (e.key === "Escape" && this.open && this.media.matches && !document.querySelector("dialog[open]")) {
        this.setOpen(false);
        this.toggle.focus();
      }
    };
    document.addEventListener("keydown", this.onKey);
    // Whatever puts the caret in the chat box (the skip link, "Whisper", the tour) opens the drawer first.
    chat.beforeFocus = () => {
      if (this.phone && !this.open) this.setOpen(true);
    };
    this.skip = document.querySelector(".skip-link");
    this.onSkip = () => chat.beforeFocus();
    this.skip?.addEventListener("click", this.onSkip);
    this.apply();
  }

  /** The dock at the bottom of a phone's screen: the chat toggle and the menu's buttons. */
  dock(menu) {
    this.menu = menu;
    this.dockNode = el("nav", { class: "dock", "aria-label": t("phone.dock") }, this.toggle);
    this.apply();
    return this.dockNode;
  }

  /** The guide's tour card: at the top of the side column on a wide screen (the room view keeps its
   * size), above the room on a phone (where the side column is the closed drawer). */
  placeTour(card, stage) {
    this.tourCard = card;
    this.stage = stage;
    this.apply();
  }

  get phone() {
    return this.media.matches;
  }

  setOpen(open) {
    this.open = open;
    if (open) {
      this.count = 0;
      this.apply();
      this.chat.log.scrollTop = this.chat.log.scrollHeight;
      this.chat.focus();
    } else {
      this.apply();
    }
  }

  /** A line from someone else arrived: counted while the drawer is closed on a phone. */
  unread() {
    if (!this.phone || this.open) return;
    this.count += 1;
    this.apply();
  }

  apply() {
    const phone = this.phone;
    // On a phone the menu moves into the dock (thumb reach); on a wide screen back to the top bar.
    if (this.menu && this.dockNode) {
      if (phone && this.menu.parentNode !== this.dockNode) {
        this.menuHome ??= this.menu.parentNode;
        this.dockNode.append(this.menu);
      } else if (!phone && this.menuHome && this.menu.parentNode !== this.menuHome) {
        this.menuHome.append(this.menu);
      }
    }
    if (this.tourCard) {
      const home = phone ? this.stage : this.side;
      if (this.tourCard.parentNode !== home) home.prepend(this.tourCard);
    }
    const shown = !phone || this.open;
    this.side.classList.toggle("drawer-open", phone && this.open);
    this.side.inert = !shown;
    if (!shown) this.side.setAttribute("aria-hidden", "true");
    else this.side.removeAttribute("aria-hidden");
    this.toggle.setAttribute("aria-expanded", String(phone && this.open));
    this.badge.hidden = !this.count;
    this.badge.textContent = this.count > 99 ? "99+" : String(this.count);
    const label = this.open ? t("phone.close_chat") : this.count ? t("phone.chat_unread", { count: this.count }) : t("phone.chat");
    this.toggle.setAttribute("aria-label", label);
    this.toggle.querySelector(".drawer-toggle-label").textContent = this.open ? t("phone.close_chat_short") : t("phone.chat");
    document.body.classList.toggle("phone", phone);
  }

  destroy() {
    this.media.removeEventListener("change", this.onMedia);
    document.removeEventListener("keydown", this.onKey);
    this.skip?.removeEventListener("click", this.onSkip);
    document.body.classList.remove("phone");
  }
}
