"""What the assistant says back, in each world language: one template per outcome."""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, str]] = {
    "not_understood": {
        "en": "I did not understand that. I can take you to a room or a place, tip someone, show what is sold, "
              "say who is in a room, catch you up, tell your balance, mute or report someone.",
        "es": "No lo he entendido. Puedo llevarte a una sala o a un lugar, dar propina, mostrar qué se vende, "
              "decir quién está en una sala, ponerte al día, decir tu saldo, silenciar o denunciar a alguien.",
        "de": "Das habe ich nicht verstanden. Ich kann dich in einen Raum oder an einen Ort bringen, Trinkgeld geben, "
              "zeigen, was verkauft wird, sagen, wer in einem Raum ist, dich auf den neuesten Stand bringen, "
              "deinen Kontostand nennen, jemanden stummschalten oder melden.",
        "fr": "Je n'ai pas compris. Je peux t'emmener dans une salle ou à un endroit, donner un pourboire, montrer "
              "ce qui se vend, dire qui est dans une salle, te raconter les nouvelles, donner ton solde, rendre "
              "muet ou signaler quelqu'un.",
        "pt": "Não entendi. Posso levar-te a uma sala ou a um lugar, dar gorjeta, mostrar o que se vende, dizer "
              "quem está numa sala, pôr-te a par, dizer o teu saldo, silenciar ou denunciar alguém."},
    "missing": {
        "en": "I need to know {missing}.", "es": "Necesito saber {missing}.", "de": "Ich muss wissen: {missing}.",
        "fr": "Il me faut {missing}.", "pt": "Preciso de saber {missing}."},
    "confirm_tip": {
        "en": "Give {amount} coins to {person}{memo}?", "es": "¿Dar {amount} monedas a {person}{memo}?",
        "de": "{amount} Münzen an {person} geben{memo}?", "fr": "Donner {amount} pièces à {person}{memo} ?",
        "pt": "Dar {amount} moedas a {person}{memo}?"},
    "confirm_buy": {
        "en": "Buy {qty} x {item} for {total} coins?", "es": "¿Comprar {qty} x {item} por {total} monedas?",
        "de": "{qty} x {item} für {total} Münzen kaufen?", "fr": "Acheter {qty} x {item} pour {total} pièces ?",
        "pt": "Comprar {qty} x {item} por {total} moedas?"},
    "confirm_mute": {
        "en": "Mute {person} for {minutes} minutes?", "es": "¿Silenciar a {person} durante {minutes} minutos?",
        "de": "{person} für {minutes} Minuten stummschalten?", "fr": "Rendre {person} muet pendant {minutes} minutes ?",
        "pt": "Silenciar {person} durante {minutes} minutos?"},
    "confirm_report_line": {
        "en": "Report this line from {person} to the moderators: “{line}”?",
        "es": "¿Denunciar esta línea de {person} a los moderadores: «{line}»?",
        "de": "Diese Zeile von {person} den Moderatoren melden: „{line}“?",
        "fr": "Signaler cette ligne de {person} aux modérateurs : « {line} » ?",
        "pt": "Denunciar esta linha de {person} aos moderadores: «{line}»?"},
    "confirm_report_person": {
        "en": "Report {person} to the moderators?", "es": "¿Denunciar a {person} a los moderadores?",
        "de": "{person} den Moderatoren melden?", "fr": "Signaler {person} aux modérateurs ?",
        "pt": "Denunciar {person} aos moderadores?"},
    "went": {"en": "You are in {room} now.", "es": "Ya estás en {room}.", "de": "Du bist jetzt in {room}.",
             "fr": "Tu es maintenant dans {room}.", "pt": "Estás agora em {room}."},
    "walking": {"en": "Walking to the {place}.", "es": "Caminando hacia {place}.", "de": "Unterwegs zu: {place}.",
                "fr": "En route vers {place}.", "pt": "A caminho de {place}."},
    "tipped": {"en": "Sent {amount} coins to {person}. You have {balance} coins.",
               "es": "Enviadas {amount} monedas a {person}. Tienes {balance} monedas.",
               "de": "{amount} Münzen an {person} gesendet. Du hast {balance} Münzen.",
               "fr": "{amount} pièces envoyées à {person}. Tu as {balance} pièces.",
               "pt": "Enviadas {amount} moedas a {person}. Tens {balance} moedas."},
    "bought": {"en": "Bought {qty} x {item}. You have {balance} coins.",
               "es": "Comprado: {qty} x {item}. Tienes {balance} monedas.",
               "de": "Gekauft: {qty} x {item}. Du hast {balance} Münzen.",
               "fr": "Acheté : {qty} x {item}. Tu as {balance} pièces.",
               "pt": "Comprado: {qty} x {item}. Tens {balance} moedas."},
    "muted": {"en": "{person} is muted for {minutes} minutes.", "es": "{person} queda silenciado {minutes} minutos.",
              "de": "{person} ist für {minutes} Minuten stummgeschaltet.",
              "fr": "{person} est muet pendant {minutes} minutes.", "pt": "{person} fica silenciado {minutes} minutos."},
    "reported": {"en": "Reported to the moderators.", "es": "Denunciado a los moderadores.",
                 "de": "Den Moderatoren gemeldet.", "fr": "Signalé aux modérateurs.", "pt": "Denunciado aos moderadores."},
    "who": {"en": "In {room}: {names}.", "es": "En {room}: {names}.", "de": "In {room}: {names}.",
            "fr": "Dans {room} : {names}.", "pt": "Em {room}: {names}."},
    "nobody": {"en": "Nobody is in {room}.", "es": "No hay nadie en {room}.", "de": "Niemand ist in {room}.",
               "fr": "Personne n'est dans {room}.", "pt": "Não está ninguém em {room}."},
    "shop": {"en": "For sale in {room}: {items}.", "es": "A la venta en {room}: {items}.",
             "de": "Zu kaufen in {room}: {items}.", "fr": "À vendre dans {room} : {items}.",
             "pt": "À venda em {room}: {items}."},
    "no_shop": {"en": "Nobody sells anything in {room} right now.", "es": "Nadie vende nada en {room} ahora.",
                "de": "In {room} verkauft gerade niemand etwas.", "fr": "Personne ne vend rien dans {room} en ce moment.",
                "pt": "Ninguém vende nada em {room} agora."},
    "catch_up": {"en": "Lately in {room}: {lines}", "es": "Últimamente en {room}: {lines}",
                 "de": "Zuletzt in {room}: {lines}", "fr": "Dernièrement dans {room} : {lines}",
                 "pt": "Ultimamente em {room}: {lines}"},
    "wallet_news": {"en": "Your wallet: {entries}.", "es": "Tu cartera: {entries}.", "de": "Deine Börse: {entries}.",
                    "fr": "Ton portefeuille : {entries}.", "pt": "A tua carteira: {entries}."},
    "nothing_new": {"en": "Nothing new.", "es": "Nada nuevo.", "de": "Nichts Neues.", "fr": "Rien de nouveau.",
                    "pt": "Nada de novo."},
    "balance": {"en": "You have {balance} coins.", "es": "Tienes {balance} monedas.", "de": "Du hast {balance} Münzen.",
                "fr": "Tu as {balance} pièces.", "pt": "Tens {balance} moedas."},
    "cancelled": {"en": "Cancelled: nothing was done.", "es": "Cancelado: no se hizo nada.",
                  "de": "Abgebrochen: nichts wurde getan.", "fr": "Annulé : rien n'a été fait.",
                  "pt": "Cancelado: nada foi feito."},
    "failed": {"en": "That did not work: {reason}", "es": "No ha funcionado: {reason}",
               "de": "Das hat nicht geklappt: {reason}", "fr": "Cela n'a pas marché : {reason}",
               "pt": "Não resultou: {reason}"},
}

FIELDS: dict[str, dict[str, str]] = {
    "person": {"en": "who", "es": "a quién", "de": "wem", "fr": "qui", "pt": "a quem"},
    "amount": {"en": "how many coins", "es": "cuántas monedas", "de": "wie viele Münzen", "fr": "combien de pièces",
               "pt": "quantas moedas"},
    "room": {"en": "where to", "es": "adónde", "de": "wohin", "fr": "où", "pt": "para onde"},
    "item": {"en": "which item", "es": "qué artículo", "de": "welchen Artikel", "fr": "quel article",
             "pt": "que artigo"},
}
AND = {"en": "and", "es": "y", "de": "und", "fr": "et", "pt": "e"}
MEMO = {"en": " for “{memo}”", "es": " por «{memo}»", "de": " („{memo}“)", "fr": " pour « {memo} »", "pt": " por «{memo}»"}


def say(key: str, lang: str, **fields: Any) -> str:
    table = TEMPLATES[key]
    return table.get(lang, table["en"]).format(**fields)


def missing(fields: tuple[str, ...], lang: str) -> str:
    words = [FIELDS.get(f, {}).get(lang) or FIELDS.get(f, {}).get("en") or f for f in fields]
    joined = f" {AND.get(lang, 'and')} ".join(words)
    return say("missing", lang, missing=joined)


def memo(text: str | None, lang: str) -> str:
    return MEMO.get(lang, MEMO["en"]).format(memo=text) if text else ""
