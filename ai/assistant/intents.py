"""The intent parser: what a person asks of the world, in en/es/de/fr/pt, read without a model.

A lexicon of verbs and phrases per language finds the intent (a tool of `tools.TOOLS`), then the
world's own words fill its arguments: rooms and named places (with their names in the five
languages), the people and residents the server knows by name, items on sale, amounts and
minutes. Only the asker's own words are read here; names and places are matched as data.
Anything it cannot place is returned as not understood, with what was missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ai.npc.lexicon import LANGS, fold

from .tools import MAX_AMOUNT, MAX_MUTE_MINUTES, validate


@dataclass
class Vocabulary:
    """What the parser may name: the world's rooms, places, people and goods (all data, never instructions)."""

    rooms: dict[str, str]  # slug -> name
    places: dict[str, list[str]] = field(default_factory=dict)  # room slug -> named places
    people: list[str] = field(default_factory=list)  # display names of people and residents
    items: dict[str, str] = field(default_factory=dict)  # sku -> name
    here: str | None = None  # the asker's room
    me: str = ""  # the asker's own name (never a target)


@dataclass
class Intent:
    tool: str | None  # None: not understood
    args: dict[str, Any]
    lang: str
    missing: tuple[str, ...] = ()  # the intent was heard but these could not be placed
    heard: str | None = None  # the tool that was heard when missing is set
    source: str = "lexicon"

    def public(self) -> dict[str, Any]:
        return {"tool": self.tool, "args": self.args, "lang": self.lang, "source": self.source}


def _rx(rules: dict[str, str]) -> dict[str, re.Pattern]:
    return {lang: re.compile(p) for lang, p in rules.items()}


# Intents in the order they are tried: the specific ones before those whose verbs are common words.
INTENTS: list[tuple[str, dict[str, re.Pattern]]] = [
    ("catch_up", _rx({
        "en": r"what (has )?happen|what did i miss|catch me up|while i was (away|gone|out)|anything new|what'?s new",
        "es": r"que (ha )?(paso|pasado|ocurrio)|que me (he )?perdi|mientras (no estaba|estuve fuera)|novedades|ponme al dia",
        "de": r"was ist (hier )?passiert|was (habe|hab) ich verpasst|wahrend ich weg war|was gibt'?s neues|neuigkeiten",
        "fr": r"s'est(-il)? passe|qu'?ai-je manque|qu'est-ce que j'ai manque|pendant mon absence|quoi de neuf",
        "pt": r"o que (e que )?aconteceu|o que (eu )?perdi|enquanto (eu )?(estive|estava) fora|novidades"})),
    ("report", _rx({
        "en": r"\b(report|flag)\b", "es": r"\b(denuncia|denunciar|denunciale|reporta|reportar)\b",
        "de": r"\b(melde|melden)\b", "fr": r"\b(signale|signaler|signalez)\b",
        "pt": r"\b(denuncia|denunciar|denuncie|reporta|reportar|reporte)\b"})),
    ("mute", _rx({
        "en": r"\b(mute|silence)\b", "es": r"\b(silencia|silenciar|silenciale|mutea|mutear)\b",
        "de": r"\b(stumm|stummschalten)\b", "fr": r"\b(sourdine|muet|fais taire|faire taire)\b",
        "pt": r"\b(silencia|silenciar|silencie|muta|mutar)\b"})),
    ("shop", _rx({
        "en": r"what can i (buy|get)|what (do|does|can) .*\b(sell|buy)\b|for sale|\bshops?\b|\bwares\b|what'?s sold",
        "es": r"que (puedo|se puede) comprar|que (venden|vende|hay para comprar)|\btiendas?\b|a la venta",
        "de": r"was kann (ich|man) (hier )?kaufen|was (gibt es|gibt's) (hier )?zu kaufen|was wird (hier )?verkauft|\bladen\b|zu verkaufen",
        "fr": r"que (puis-je|peut-on|je peux) acheter|qu'est-ce que (je peux|l'on peut|on peut) acheter|qu'est-ce qu'on vend|"
              r"qu'est-ce qui se vend|\bboutiques?\b|a vendre",
        "pt": r"o que (posso|se pode|da para) comprar|o que (vendem|vende|ha para comprar)|\blojas?\b|a venda"})),
    ("buy", _rx({
        "en": r"\b(buy|purchase|order)\b|i'?ll take", "es": r"\b(compra|comprar|comprame|comprale)\b",
        "de": r"\b(kauf|kaufe|kaufen)\b", "fr": r"\b(achete|acheter|achetez|achetes)\b",
        "pt": r"\b(compra|comprar|compre)\b"})),
    ("tip", _rx({
        "en": r"\b(tip|give|send|pay|transfer)\b",
        "es": r"\b(propina|dale|da|dar|envia|enviale|manda|mandale|paga|pagale|regala|regalale|transfiere)\b",
        "de": r"\b(trinkgeld|gib|gebe|schick|schicke|sende|zahl|zahle|uberweise)\b",
        "fr": r"\b(pourboire|donne|donner|envoie|envoyer|paie|paye|payer|verse)\b",
        "pt": r"\b(gorjeta|da|dar|envia|envie|manda|mande|paga|pague|transfere|transfira)\b"})),
    ("balance", _rx({
        "en": r"\bbalance\b|how (many|much) (coins|money)|my wallet",
        "es": r"\bsaldo\b|cuant[ao]s? (monedas|dinero)|mi (cartera|monedero)",
        "de": r"kontostand|guthaben|wie viele? (munzen|geld)|meine? (geldborse|brieftasche)",
        "fr": r"\bsolde\b|combien (de pieces|d'argent)|mon portefeuille",
        "pt": r"\bsaldo\b|quant[ao]s? (moedas|dinheiro)|minha carteira"})),
    ("who_is_in", _rx({
        "en": r"\bwho\b|\banyone\b|\banybody\b", "es": r"\bquien(es)?\b|\bhay alguien\b",
        "de": r"\bwer\b|\bjemand\b", "fr": r"\bqui\b|\bquelqu'un\b", "pt": r"\bquem\b|\balguem\b"})),
    ("move", _rx({
        "en": r"\b(take|bring|get|send|move|teleport) me\b|\b(go|walk|head|run|stroll|join|visit)\b|how do i get",
        "es": r"\bllevame\b|\b(ir|ve|vamos|voy|camina|caminar|anda|andar|entra|entrar|lleva|acercame)\b",
        "de": r"\bbring mich\b|\b(geh|gehe|gehen|lauf|laufe|laufen|teleportiere?|betrete|fuhre mich)\b|\bich will (in|zu|zum|zur|nach)\b",
        "fr": r"\b(emmene|amene|conduis|transporte)-?moi\b|\b(va|vais|aller|allons|marche|marcher|rejoins|rejoindre|entre|entrer)\b",
        "pt": r"\b(leva|leve)-?me\b|\bme leva\b|\b(ir|vai|vamos|vou|caminha|caminhar|anda|andar|entra|entrar)\b"})),
]

LAST_LINE = _rx({
    "en": r"\b(last|latest) (line|message|thing)|what \w+ (just )?(said|wrote)",
    "es": r"ultim[oa] (linea|mensaje|frase)|lo que (dijo|escribio)",
    "de": r"letzten? (zeile|nachricht|satz)|was \w+ (gesagt|geschrieben)",
    "fr": r"dernier(e)? (ligne|message|phrase)|ce qu'?(il|elle) a (dit|ecrit)",
    "pt": r"ultim[oa] (linha|mensagem|frase)|o que (ele|ela) (disse|escreveu)"})

# The memo of a tip: what follows "for" (taken from the words as written).
MEMO = {"en": r"\bfor (.+)$", "es": r"\bpor (.+)$", "de": r"\bf(?:ü|u)r (.+)$", "fr": r"\bpour (.+)$",
        "pt": r"\b(?:pela|pelo|por) (.+)$"}

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10, "twenty": 20, "fifty": 50, "hundred": 100,
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "diez": 10, "veinte": 20, "cincuenta": 50, "cien": 100,
    "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "funf": 5, "zehn": 10, "zwanzig": 20, "funfzig": 50, "hundert": 100,
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "dix": 10, "vingt": 20, "cinquante": 50, "cent": 100,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "quatro": 4, "dez": 10, "vinte": 20, "cinquenta": 50, "cem": 100,
}
MINUTES = re.compile(r"\b(\d{1,5})\s*(min|mins|minute|minutes|minuto|minutos|minuten)\b")
HOURS = re.compile(r"\b(\d{1,3})\s*(h|hour|hours|hora|horas|stunde|stunden|heure|heures)\b")

# Words that are never the person meant ("give ME all YOUR coins" names nobody).
STOP = set("""
me mir mich moi mim my your yours his her him them us all every everything everyone please coins coin money
a an the to for from of at in on with by and or some any this that these those last latest line lines message
messages thing said wrote who user person player now right away just
el la los las al del de un una unos unas por favor todo todas todos tus tu sus su mis mi monedas moneda dinero
ultimo ultima linea mensaje frase que lo dijo le les
der die das dem den des ein eine einen einem zu zum zur von vom bitte alle alles deine dein meine mein munzen
munze geld letzte letzten zeile nachricht satz was fur
le les l au aux un une des du pour s'il vous plait tout tous toutes tes ton mes mon pieces piece argent dernier
derniere ligne message phrase ce qu'il qu'elle
o os as ao aos da do das dos um uma para pra pelo pela faz favor todas todos tuas teus minhas meus moedas moeda
dinheiro ultima ultimo linha mensagem
""".split())

# The world's rooms and places by their names in the five languages (English name -> other names).
ROOM_WORDS = {
    "library": ["biblioteca", "bibliothek", "bucherei", "bibliotheque"],
    "market": ["mercado", "markt", "marktplatz", "marche"],
    "plaza": ["square", "town square", "platz", "place", "praca", "plaza"],
}
PLACE_WORDS = {
    "fountain": ["fuente", "brunnen", "fontaine", "fonte", "chafariz"],
    "benches": ["bench", "bancos", "banco", "banken", "banke", "bank", "bancs", "banc"],
    "plane trees": ["trees", "arboles", "platanos", "baume", "platanen", "arbres", "platanes", "arvores"],
    "well": ["pozo", "ziehbrunnen", "puits", "poco"],
    "notice board": ["board", "tablon", "tablon de anuncios", "anschlagbrett", "schwarzes brett", "panneau",
                     "panneau d'affichage", "quadro de avisos", "mural"],
    "market board": ["tablon del mercado", "marktbrett", "panneau du marche", "quadro do mercado"],
    "tea stall": ["puesto de te", "teestand", "stand de the", "etal de the", "banca de cha"],
    "map stall": ["puesto de mapas", "kartenstand", "stand de cartes", "banca de mapas"],
    "fruit stall": ["puesto de fruta", "obststand", "stand de fruits", "banca de frutas"],
    "cloth stall": ["puesto de telas", "stoffstand", "stand de tissus", "banca de tecidos"],
    "crates": ["cajas", "kisten", "caisses", "caixas"],
    "bookshelves": ["shelves", "shelf", "estanterias", "estantes", "regale", "bucherregale", "etageres", "rayons"],
    "bookshelf": ["estanteria", "bucherregal", "etagere", "estante"],
    "reading tables": ["tables", "mesas de lectura", "lesetische", "tables de lecture", "mesas de leitura"],
    "front desk": ["desk", "mostrador", "recepcion", "theke", "empfang", "accueil", "comptoir", "balcao", "recepcao"],
    "rug": ["alfombra", "teppich", "tapis", "tapete"],
}
ITEM_WORDS = {
    "lantern": ["lanterns", "farol", "faroles", "linterna", "linternas", "lampara", "laterne", "laternen", "lanterne",
                "lanternes", "lanterna", "lanternas", "lampiao"],
    "oil": ["lamp oil", "aceite", "ol", "lampenol", "huile", "oleo", "azeite"],
    "map": ["maps", "mapa", "mapas", "karte", "karten", "stadtplan", "carte", "cartes", "plan"],
    "tea": ["teas", "te", "tee", "the", "cha", "mint tea"],
}


def _words(s: str) -> str:
    return " ".join(re.findall(r"[\w'-]+", fold(s)))


def _find(text: str, phrase: str) -> int:
    m = re.search(r"(?<![\w'-])" + re.escape(phrase) + r"(?![\w-])", text) if phrase else None
    return m.start() if m else -1


def _aliases_room(slug: str, name: str) -> list[str]:
    base = {_words(slug), _words(name), _words(re.sub(r"(?i)^the\s+", "", name))}
    for key, words in ROOM_WORDS.items():
        if key in base:
            base.update(words)
    return [a for a in base if a]


def _aliases_place(name: str) -> list[str]:
    base = {_words(name)}
    if (m := re.match(r"(.+)'s (stall|shop|stand)$", _words(name))):
        base |= {m.group(1), f"{m.group(1)}s {m.group(2)}"}
    base.update(PLACE_WORDS.get(fold(name), []))
    return [a for a in base if a]


def _longest(text: str, candidates: list[tuple[str, Any]]) -> tuple[Any, int] | None:
    """The candidate whose alias is the longest found in the text, with its position."""
    best = None
    for alias, value in candidates:
        at = _find(text, alias)
        if at >= 0 and (best is None or len(alias) > best[0]):
            best = (len(alias), value, at)
    return (best[1], best[2]) if best else None


def _number(text: str, skip: re.Pattern | None = None) -> int | None:
    t = skip.sub(" ", text) if skip else text
    m = re.search(r"(?<![\w.,])(\d{1,9})(?![\w.,]*\d)", t)
    if m:
        return int(m.group(1))
    for w in re.findall(r"[\w']+", t):
        if w in NUMBER_WORDS:
            return NUMBER_WORDS[w]
    return None


class IntentParser:
    """Lexicon parsing over a `Vocabulary`; `parse(text, vocab, lang)` -> Intent."""

    def __init__(self, langs: tuple[str, ...] = LANGS):
        self.langs = tuple(x for x in langs if x in LANGS) or LANGS

    def parse(self, text: str, vocab: Vocabulary, lang: str | None = None) -> Intent:
        t = _words(text)
        if t.startswith("ask "):
            t = t[4:]
        order = ([lang] if lang in self.langs else []) + [x for x in self.langs if x != lang]
        first_missing: Intent | None = None
        for tool, rules in INTENTS:
            for lg in order:
                m = rules[lg].search(t) if lg in rules else None
                if m is None:
                    continue
                got = self._fill(tool, t, text, m, lg, vocab)
                if got.tool is not None:
                    return got
                if first_missing is None:
                    first_missing = got
                break
        return first_missing or Intent(None, {}, lang or "en")

    # -- arguments -----------------------------------------------------------------------------
    def _fill(self, tool: str, t: str, raw: str, m: re.Match, lang: str, vocab: Vocabulary) -> Intent:
        rest = t[m.end():]
        room = self._room(t, vocab)
        if tool == "catch_up" or tool == "balance":
            return self._ok(tool, {}, lang)
        if tool in ("who_is_in", "shop"):
            return self._ok(tool, {"room": room} if room else {}, lang)
        if tool == "move":
            place = self._place(t, vocab, room)
            if place is not None and (room is None or place[1] == room):
                args = {"place": place[0]}
                if place[1] != vocab.here:
                    args["room"] = place[1]
                return self._ok("walk_to", args, lang)
            if room is not None:
                return self._ok("go_to", {"room": room}, lang)
            return Intent(None, {}, lang, missing=("room",), heard="go_to")
        if tool == "buy":
            item = _longest(t, [(a, sku) for sku, name in vocab.items.items()
                                for a in {_words(sku), _words(name), *ITEM_WORDS.get(sku, [])}])
            if item is None:
                return Intent(None, {}, lang, missing=("item",), heard="buy")
            qty = _number(t) or 1
            return self._ok("buy", {"item": item[0], "qty": min(qty, 99)}, lang)
        person = self._person(t, rest, vocab, last=(tool == "report"))
        if tool == "tip":
            amount = _number(t)
            missing = tuple(k for k, v in (("person", person), ("amount", amount)) if v is None)
            if missing:
                return Intent(None, {}, lang, missing=missing, heard="tip")
            args = {"person": person, "amount": min(amount, MAX_AMOUNT)}
            memo = re.search(MEMO[lang], raw.strip(), re.I)
            if memo and not re.fullmatch(r"[\d\s]*\w*", memo.group(1).strip()):
                args["memo"] = memo.group(1).strip()[:200]
            return self._ok("tip", args, lang)
        if person is None:
            return Intent(None, {}, lang, missing=("person",), heard=tool)
        if tool == "mute":
            minutes = None
            if (mm := MINUTES.search(t)):
                minutes = int(mm.group(1))
            elif (hh := HOURS.search(t)):
                minutes = int(hh.group(1)) * 60
            args = {"person": person}
            if minutes:
                args["minutes"] = max(1, min(minutes, MAX_MUTE_MINUTES))
            return self._ok("mute", args, lang)
        what = "line" if LAST_LINE[lang].search(t) else "person"
        return self._ok("report", {"person": person, "what": what}, lang)

    def fill(self, tool: str, text: str, vocab: Vocabulary, lang: str) -> Intent:
        """The arguments of `tool` read from the whole text (when something else, e.g. the embedder,
        chose the intent)."""
        key = "move" if tool in ("go_to", "walk_to") else tool
        t = _words(text)
        m = re.match("", t)
        return self._fill(key, t, text, m, lang if lang in LAST_LINE else "en", vocab)

    @staticmethod
    def _ok(tool: str, args: dict[str, Any], lang: str) -> Intent:
        return Intent(tool, validate(tool, args), lang)

    @staticmethod
    def _room(t: str, vocab: Vocabulary) -> str | None:
        found = _longest(t, [(a, slug) for slug, name in vocab.rooms.items() for a in _aliases_room(slug, name)])
        # "the market board" names a place, not the room: a place alias that covers it wins (see _place)
        return found[0] if found else None

    @staticmethod
    def _place(t: str, vocab: Vocabulary, room: str | None) -> tuple[str, str] | None:
        rooms = [vocab.here] if vocab.here in vocab.places else []
        rooms += [r for r in vocab.places if r != vocab.here]
        best = None
        for slug in rooms:  # the room you are in first: "the well" is the one nearby
            for name in vocab.places[slug]:
                for alias in _aliases_place(name):
                    at = _find(t, alias)
                    if at >= 0 and (best is None or len(alias) > best[0]) and not (
                            room is not None and slug != room and alias in _aliases_room(room, vocab.rooms[room])):
                        best = (len(alias), (name, slug))
        if best is None:
            return None
        # a place whose alias is only a room's name ("plaza") is the room, not the place
        if room is not None and best[0] <= max(len(a) for a in _aliases_room(room, vocab.rooms[room])
                                               if _find(t, a) >= 0) and best[1][1] != room:
            return None
        return best[1]

    @staticmethod
    def _person(t: str, rest: str, vocab: Vocabulary, last: bool) -> str | None:
        me = _words(vocab.me) if vocab.me else ""
        known = _longest(t, [(_words(n), n) for n in vocab.people if _words(n) and _words(n) != me])
        if known is not None:
            return known[0]
        # a name the server may know although it is not in sight: the word after the verb
        cands = [w for w in rest.split() if w not in STOP and w not in NUMBER_WORDS and not w.isdigit()
                 and len(w) > 1 and w != me and not re.fullmatch(r"\d+\w*", w)]
        if not cands:
            return None
        return cands[-1] if last else cands[0]
