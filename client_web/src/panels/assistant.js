// The world assistant: say what you want ("take me to the market", "tip ana 20") in the panel or
// as `/ask ...` in the chat box. The server reads it (`assistant:ask`) and either acts at once or
// holds a pending action that moves money or touches another person until you confirm it here
// (`assistant:confirm`). Replies come in your language from the server; the panel's own few
// labels follow the interface language (<html lang>).

import "./assistant.css";
import { describeError } from "../net.js";
import { el, setChildren } from "../ui.js";

const WORDS = {
  en: { can: "What can I ask?", asks_first: "asks you first", title: "Assistant", placeholder: "Ask: take me to the market", ask: "Ask", you: "You", confirm: "Confirm", cancel: "Cancel", confirm_here: "Confirm or cancel it in the assistant panel.", done: "Done", label: "What do you want to do?" },
  es: { can: "¿Qué puedo pedir?", asks_first: "te pregunta antes", title: "Asistente", placeholder: "Pide: llévame al mercado", ask: "Pedir", you: "Tú", confirm: "Confirmar", cancel: "Cancelar", confirm_here: "Confírmalo o cancélalo en el panel del asistente.", done: "Hecho", label: "¿Qué quieres hacer?" },
  de: { can: "Was kann ich fragen?", asks_first: "fragt dich vorher", title: "Assistent", placeholder: "Frag: bring mich zum Markt", ask: "Fragen", you: "Du", confirm: "Bestätigen", cancel: "Abbrechen", confirm_here: "Bestätige oder brich es im Assistenten ab.", done: "Erledigt", label: "Was möchtest du tun?" },
  fr: { can: "Que puis-je demander ?", asks_first: "te demande d'abord", title: "Assistant", placeholder: "Demande : emmène-moi au marché", ask: "Demander", you: "Toi", confirm: "Confirmer", cancel: "Annuler", confirm_here: "Confirme ou annule dans le panneau de l'assistant.", done: "Fait", label: "Que veux-tu faire ?" },
  pt: { can: "O que posso pedir?", asks_first: "pergunta-te antes", title: "Assistente", placeholder: "Pede: leva-me ao mercado", ask: "Pedir", you: "Tu", confirm: "Confirmar", cancel: "Cancelar", confirm_here: "Confirma ou cancela no painel do assistente.", done: "Feito", label: "O que queres fazer?" },
};

function words() {
  const lang = (document.documentElement.lang || "en").split("-")[0];
  return WORDS[lang] || WORDS.en;
}

export const ASK_PREFIX = /^\/ask\s+/i;

export class AssistantPanel {
  /** conn: WorldConnection; chat: ChatPanel (its box takes `/ask ...`); onJoin(snapshot): the server joined us
   * to a room; onWalk({x, y}): we are walking to a place. */
  constructor({ conn, chat, onJoin, onWalk }) {
    this.conn = conn;
    this.chat = chat;
    this.onJoin = onJoin;
    this.onWalk = onWalk;
    const w = words();
    this.log = el("ul", { class: "assistant-log", "aria-live": "polite", "aria-label": w.title });
    this.input = el("input", { type: "text", name: "ask", maxLength: 500, autocomplete: "off", placeholder: w.placeholder, "aria-label": w.label });
    this.button = el("button", { type: "submit", class: "primary" }, w.ask);
    this.form = el("form", { class: "assistant-form" }, this.input, this.button);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.ask(text);
    });
    this.heading = el("h2", { id: "assistant-title" }, w.title);
    // What it can do: the server's declared tool list (the same one a model is given), fetched once when opened.
    this.toolList = el("ul", { class: "assistant-tools" });
    this.tools = el("details", { class: "assistant-help" }, el("summary", {}, w.can), this.toolList);
    this.tools.addEventListener("toggle", () => this.tools.open && this.loadTools());
    this.element = el("section", { class: "assistant panel", id: "assistant", "aria-labelledby": "assistant-title" }, this.heading, this.tools, this.log, this.form);
    this.attachToChat();
  }

  async loadTools() {
    if (this.toolsLoaded) return;
    const reply = await this.conn.request("assistant:tools", {});
    if (!reply.ok) return;
    this.toolsLoaded = true;
    const w = words();
    setChildren(this.toolList, reply.tools.map((tool) => el("li", { dataset: { tool: tool.name } }, tool.description, tool.confirm ? el("em", {}, ` (${w.asks_first})`) : null)));
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
    const node = el("li", { class: `assistant-line ${kind}` }, who ? el("strong", {}, `${who}: `) : null, el("span", { class: "text" }, text));
    this.log.append(node);
    while (this.log.children.length > 40) this.log.firstChild.remove();
    node.scrollIntoView?.({ block: "nearest" });
    return node;
  }

  async ask(text, { inChat = false } = {}) {
    const w = words();
    this.line(w.you, text, "mine");
    this.button.disabled = true;
    const reply = await this.conn.request("assistant:ask", { text });
    this.button.disabled = false;
    if (!reply.ok) {
      const why = describeError(reply.error);
      this.line(w.title, why, "error");
      if (inChat) this.chat.system(why, "error");
      return reply;
    }
    this.show(reply);
    if (reply.pending) this.pending(reply.pending);
    if (inChat) this.chat.system(reply.pending ? `${reply.reply} ${w.confirm_here}` : reply.reply, reply.understood ? "info" : "warn");
    return reply;
  }

  show(reply) {
    if (!reply.pending) this.line(words().title, reply.reply, reply.understood === false ? "warn" : "reply");
    if (reply.join?.room) this.onJoin?.(reply.join);
    if (reply.walk) this.onWalk?.(reply.walk);
  }

  /** A held action: its summary with Confirm and Cancel; answered once. */
  pending(action) {
    const w = words();
    const yes = el("button", { type: "button", class: "primary", dataset: { action: action.id } }, w.confirm);
    const no = el("button", { type: "button", class: "secondary" }, w.cancel);
    const status = el("span", { class: "assistant-status", role: "status" });
    const node = this.line(w.title, action.summary, "pending");
    node.append(el("div", { class: "assistant-actions" }, yes, no, status));
    const answer = async (event) => {
      yes.disabled = no.disabled = true;
      const reply = await this.conn.request(event, { id: action.id });
      if (!reply.ok) {
        status.textContent = describeError(reply.error);
        return;
      }
      setChildren(status, reply.reply || w.done);
      node.classList.add(event === "assistant:confirm" ? "confirmed" : "cancelled");
    };
    yes.addEventListener("click", () => answer("assistant:confirm"));
    no.addEventListener("click", () => answer("assistant:cancel"));
    yes.focus?.();
  }
}
