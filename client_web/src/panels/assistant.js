// The world assistant: say what you want ("take me to the market", "tip ana 20") in the panel or
// as `/ask ...` in the chat box. The server reads it (`assistant:ask`) and either acts at once or
// holds a pending action that moves money or touches another person until you confirm it here
// (`assistant:confirm`). Replies come in your language from the server; the panel's own words
// come from the interface's catalogues (assistant.*), the tool list's too (the server's
// descriptions are written for the model, in English: they are only the fallback).

import "./assistant.css";
import { t } from "../i18n.js";
import { describeError } from "../net.js";
import { el, setChildren } from "../ui.js";

export const ASK_PREFIX = /^\/ask\s+/i;

export class AssistantPanel {
  /** conn: WorldConnection; chat: ChatPanel (its box takes `/ask ...`); onJoin(snapshot): the server joined us
   * to a room; onWalk({x, y}): we are walking to a place. */
  constructor({ conn, chat, onJoin, onWalk }) {
    this.conn = conn;
    this.chat = chat;
    this.onJoin = onJoin;
    this.onWalk = onWalk;
    this.log = el("ul", { class: "assistant-log", "aria-live": "polite", "aria-label": t("assistant.log_label") });
    this.hint = el("li", { class: "assistant-hint muted" }, t("assistant.empty"));
    this.log.append(this.hint);
    this.input = el("input", { type: "text", name: "ask", maxLength: 500, autocomplete: "off", placeholder: t("assistant.placeholder"), "aria-label": t("assistant.label") });
    this.button = el("button", { type: "submit", class: "primary" }, t("assistant.ask"));
    this.form = el("form", { class: "assistant-form" }, this.input, this.button);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.ask(text);
    });
    this.heading = el("h2", { id: "assistant-title" }, t("assistant.title"));
    // What it can do: the server's declared tool list (the same one a model is given), fetched once when opened.
    this.toolList = el("ul", { class: "assistant-tools" });
    this.tools = el("details", { class: "assistant-help" }, el("summary", {}, t("assistant.can")), this.toolList);
    this.tools.addEventListener("toggle", () => this.tools.open && this.loadTools());
    this.element = el("section", { class: "assistant panel", id: "assistant", "aria-labelledby": "assistant-title" }, this.heading, this.tools, this.log, this.form);
    this.attachToChat();
  }

  async loadTools() {
    if (this.toolsLoaded) return;
    const reply = await this.conn.request("assistant:tools", {});
    if (!reply.ok) {
      setChildren(this.toolList, el("li", { class: "form-error", role: "alert" }, t("assistant.tools_failed", { why: describeError(reply.error) })));
      return;
    }
    this.toolsLoaded = true;
    const describe = (tool) => t(`assistant.tool.${tool.name}`, { defaultValue: tool.description });
    setChildren(this.toolList, reply.tools.map((tool) => el("li", { dataset: { tool: tool.name } }, describe(tool), tool.confirm ? el("em", {}, ` (${t("assistant.asks_first")})`) : null)));
  }

  /** `/ask ...` typed in the chat goes to the assistant, never to the room (our listener runs before the chat's). */
  attachToChat() {
    const form = this.chat?.form;
    const input = this.chat?.input;
    if (!form || !input) return;
    form.addEventListener(
      "submit",
      (e) => {
        if (!ASK_PREFIX.test(input.value)) return;
        e.preventDefault();
        e.stopImmediatePropagation();
        const text = input.value.replace(ASK_PREFIX, "").trim();
        input.value = "";
        if (text) this.ask(text, { inChat: true });
      },
      { capture: true },
    );
  }

  line(who, text, kind = "reply") {
    this.hint.remove();
    const node = el("li", { class: `assistant-line ${kind}` }, who ? el("strong", {}, `${who}: `) : null, el("span", { class: "text" }, text));
    this.log.append(node);
    while (this.log.children.length > 40) this.log.firstChild.remove();
    node.scrollIntoView?.({ block: "nearest" });
    return node;
  }

  async ask(text, { inChat = false } = {}) {
    this.line(t("assistant.you"), text, "mine");
    this.button.disabled = true;
    const reply = await this.conn.request("assistant:ask", { text });
    this.button.disabled = false;
    if (!reply.ok) {
      const why = describeError(reply.error);
      this.line(t("assistant.title"), why, "error");
      if (inChat) this.chat.system(why, "error");
      return reply;
    }
    this.show(reply);
    if (reply.pending) this.pending(reply.pending);
    if (inChat) this.chat.system(reply.pending ? `${reply.reply} ${t("assistant.confirm_here")}` : reply.reply, reply.understood ? "info" : "warn");
    return reply;
  }

  show(reply) {
    if (!reply.pending) this.line(t("assistant.title"), reply.reply, reply.understood === false ? "warn" : "reply");
    if (reply.join?.room) this.onJoin?.(reply.join);
    if (reply.walk) this.onWalk?.(reply.walk);
  }

  /** A held action: its summary with Confirm and Cancel; answered once. */
  pending(action) {
    const yes = el("button", { type: "button", class: "primary", dataset: { action: action.id } }, t("common.confirm"));
    const no = el("button", { type: "button", class: "secondary" }, t("common.cancel"));
    const status = el("span", { class: "assistant-status", role: "status" });
    const node = this.line(t("assistant.title"), action.summary, "pending");
    node.append(el("div", { class: "assistant-actions", role: "group", "aria-label": t("assistant.pending_label") }, yes, no, status));
    const answer = async (event) => {
      yes.disabled = no.disabled = true;
      const reply = await this.conn.request(event, { id: action.id });
      if (!reply.ok) {
        status.textContent = describeError(reply.error);
        return;
      }
      setChildren(status, reply.reply || t("common.done"));
      node.classList.add(event === "assistant:confirm" ? "confirmed" : "cancelled");
    };
    yes.addEventListener("click", () => answer("assistant:confirm"));
    no.addEventListener("click", () => answer("assistant:cancel"));
    yes.focus?.();
  }
}
