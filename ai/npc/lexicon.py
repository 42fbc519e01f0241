"""A small bundled multilingual lexicon: what a resident understands and says in every world
language when no translation model is loaded.

`gloss(text, lang)` turns a line in es/de/fr/pt into the plain English the brain's rules read
("¿dónde está la biblioteca?" -> "where is the library?"): phrases for the intents that matter
most (greeting, yes/no, thanks, where-is, what-do-you-sell, buy, price, goodbye) and a glossary
of the common words for places and goods, so room and item names are then matched as written.
`say(key, lang, **fields)` is the reply side: one template per intent and language. Anything
the lexicon does not cover is answered in English with a plain note that it is English.
"""

from __future__ import annotations

import re
import unicodedata

LANGS = ("en", "es", "de", "fr", "pt")


def fold(text: str) -> str:
    """Lower case without accents ("¿Dónde?" -> "¿donde?"): patterns are written accent-free."""
    nfkd = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in nfkd if not unicodedata.combining(c)).replace("ß", "ss")


# (pattern over the folded line, English) in order: longer phrases first.
PHRASES: dict[str, list[tuple[str, str]]] = {
    "es": [
        (r"\bpor ?que cuesta(n)? tanto\b", "why is it so expensive"),
        (r"\bde que (trata|va|tratan|van)\b", "what's it about"),
        (r"\bpor ?que (es|son|esta|estan|cuesta|cuestan) (tan |tanto )?(caro|cara|caros|caras|mucho)\b", "why is it so expensive"),
        (r"\bque (se puede|puedo|podemos) hacer\b", "what can i do"),
        (r"\bque (dice|pone)\b", "what does it say"),
        (r"\btablon( de anuncios)?\b", "notice board"), (r"\bpuesto de te\b", "tea stall"),
        (r"\bpuesto de mapas\b", "map stall"), (r"\bpuesto de tobin\b", "tobin's stall"),
        (r"\bmesas de lectura\b", "reading tables"), (r"\b(estanterias|estantes)\b", "bookshelves"),
        (r"\b(me (enseñas|ensenas|muestras) (el pueblo|la ciudad)|dame un recorrido|un recorrido|una visita guiada)\b", "show me around"),
        (r"\bcomo (estas|esta usted|te va|le va)\b", "how are you"), (r"\bque (estas|esta) leyendo\b", "what are you reading"),
        (r"\bcuant[oa]s\b", "how many"), (r"\b(te|le) (quedan|queda)\b", "you have left"),
        (r"\b(la )?hora del cuento\b", "story hour"), (r"\b(la )?(busqueda|caza) del tesoro\b", "treasure hunt"),
        (r"\b(el )?dia de mercado\b", "market day"), (r"\bcuando (es|empieza|comienza)\b", "when is"), (r"\bcuando\b", "when"),
        (r"\bno,? gracias\b", "no thanks"), (r"\bmuchas gracias\b", "thank you"), (r"\bgracias\b", "thank you"),
        (r"\b(hola|buenos dias|buenas tardes|buenas noches|buenas)\b", "hello"),
        (r"\b(adios|hasta luego|hasta pronto|nos vemos|chao)\b", "goodbye"),
        (r"\bd[eo]nde (esta|estan|queda|quedan|se encuentra|hay)\b", "where is"), (r"\bdonde\b", "where"),
        (r"\bcomo (llego|voy|se llega) (a|al)\b", "how do i get to the"),
        (r"\bcomo (llego|voy|se llega)( alli| alla| ahi)?\b", "how do i get there"), (r"\bllevame (a|al)\b", "take me to the"),
        (r"\bque (vendes|vende|tienes|tiene|ofreces)\b", "what do you sell"),
        (r"\bcuanto (cuesta|cuestan|vale|valen|es|son)\b", "how much is"), (r"\bcuanto por\b", "how much for"),
        (r"\bque me (recomiendas|recomienda|recomendarias|sugieres|aconsejas)\b", "what do you recommend"),
        (r"\b(recomiendas|recomienda|recomiendan|recomendarias|sugieres|aconsejas)\b", "recommend"),
        (r"\bde lo que (tienen|tiene)\b", "from what they have"),
        (r"\b(que (hay|pasa) hoy|que hay de nuevo|eventos?|actividades)\b", "what's happening"),
        (r"\bquien es\b", "who is"), (r"\bque hora es\b", "what time is it"),
        (r"\bque (estas|esta) haciendo\b", "what are you doing"), (r"\b(descuento|rebaja)\b", "discount"), (r"\b(es )?(muy|demasiado) caro\b", "too expensive"),
        (r"\bmas barat[oa]s? (que|de)\b", "cheaper than"), (r"\b(lo |el |la )?mas car[oa]\b", "the most expensive"), (r"\b(lo )?mas barato\b", "the cheapest"),
        (r"\b(dame|deme|ponme|pongame)\b", "give me"), (r"\b(tienes|tiene)\b", "do you have"),
        (r"\b(comer|comida)\b", "eat"), (r"\bbeber\b", "drink"),
        (r"\bprecio\b", "price"), (r"\by (el|la|los|las)\b", "what about the"),
        (r"\b(quiero|quisiera|me gustaria) comprar\b", "i want to buy"), (r"\b(quiero|quisiera)\b", "i want"),
        (r"\b(me lo llevo|me la llevo|lo compro|la compro)\b", "i'll take it"), (r"\bme llevo\b", "i'll take"),
        (r"\b(busco|estoy buscando)\b", "where is"), (r"\bcomprar\b", "buy"),
        (r"\bque es\b", "what is"), (r"^\W*(si|claro|vale|de acuerdo|por supuesto)\b", "yes"), (r"^\W*no\b", "no"),
    ],
    "de": [
        (r"\bworum geht es\b|\bwovon handelt (es|das)\b", "what's it about"),
        (r"\bwarum (ist|sind|kostet) (es|sie|das|die|der|er)( so| denn so)? (teuer|viel)\b", "why is it so expensive"),
        (r"\bwas kann (man|ich) hier (machen|tun)\b", "what can i do here"),
        (r"\bwas kann (man|ich) (da|dort) (machen|tun)\b", "what can i do there"), (r"\bwas kann (man|ich) (machen|tun)\b", "what can i do"),
        (r"\bwas steht\b", "what does it say"),
        (r"\b(schwarze[sn]? brett|anschlagtafel)\b", "notice board"), (r"\bteestand\b", "tea stall"),
        (r"\bkartenstand\b", "map stall"), (r"\btobins stand\b", "tobin's stall"),
        (r"\blesetische?\b", "reading tables"), (r"\b(bucherregale?|regale)\b", "bookshelves"),
        (r"\b(zeig mir (die stadt|alles|den ort)|eine fuhrung|rundgang)\b", "show me around"),
        (r"\bwie geht('?s| es)( dir| ihnen)?\b", "how are you"), (r"\bwas liest du\b", "what are you reading"),
        (r"\bwie ?viele\b", "how many"),
        (r"\b(die )?(vorlesestunde|geschichtenstunde)\b", "story hour"), (r"\b(die )?schatzsuche\b", "treasure hunt"),
        (r"\b(der )?markttag\b", "market day"), (r"\bwann (ist|beginnt|fangt)\b", "when is"), (r"\bwann\b", "when"),
        (r"\bnein,? danke\b", "no thanks"), (r"\b(vielen dank|danke schon|danke)\b", "thank you"),
        (r"\b(hallo|guten (morgen|tag|abend)|servus|moin)\b", "hello"),
        (r"\b(tschuss|auf wiedersehen|bis spater|bis bald|ciao)\b", "goodbye"),
        (r"\bwo (ist|sind|finde ich|liegt)\b", "where is"), (r"\bwo\b", "where"),
        (r"\bwie komme ich (zum|zur|in die|in den|nach)\b", "how do i get to the"),
        (r"\bwie komme ich (da ?hin|dorthin|hin|dort hin)\b", "how do i get there"),
        (r"\bbring mich (zum|zur|zu|in die|in den)\b", "take me to the"),
        (r"\bwas (verkaufst du|verkaufen sie|hast du|haben sie)\b", "what do you sell"),
        (r"\bwas kostet\b", "how much is"), (r"\bwie viel kostet\b", "how much is"), (r"\bwie viel fur\b", "how much for"),
        (r"\bwas (empfiehlst du|empfehlen sie|wurdest du empfehlen|wurden sie empfehlen)\b", "what do you recommend"),
        (r"\b(empfiehlst|empfehlen|empfehlenswert)\b", "recommend"),
        (r"\b(was ist (heute )?los|was gibt es heute|veranstaltungen?|ereignisse)\b", "what's happening"),
        (r"\bwer ist\b", "who is"), (r"\bwie spat ist es\b", "what time is it"), (r"\bwas machst du\b", "what are you doing"), (r"\brabatt\b", "discount"), (r"\b(das ist |ist )?zu teuer\b", "too expensive"),
        (r"\b(billiger|gunstiger) als\b", "cheaper than"), (r"\b(das |der |die )?teuerste\b", "the most expensive"), (r"\b(das )?(billigste|gunstigste)\b", "the cheapest"),
        (r"\b(gib mir|geben sie mir)\b", "give me"), (r"\b(hast du|haben sie)\b", "do you have"),
        (r"\bessen\b", "eat"), (r"\btrinken\b", "drink"),
        (r"\bwieviel kostet\b", "how much is"), (r"\bpreis\b", "price"), (r"\bund (der|die|das)\b", "what about the"),
        (r"\b(ich mochte|ich will|ich hatte gern) (einen|eine|ein)?\s*", "i want to buy a "),
        (r"\b(ich nehme (es|ihn|sie)|nehme ich)\b", "i'll take it"), (r"\bich nehme\b", "i'll take"),
        (r"\bich suche\b", "where is"), (r"\bkaufen\b", "buy"),
        (r"\bwas ist\b", "what is"), (r"^\W*(ja|klar|gern|gerne|okay|einverstanden)\b", "yes"), (r"^\W*nein\b", "no"),
    ],
    "fr": [
        (r"\bqu'?est-ce que (je|on) (peux|peut) faire\b", "what can i do"),
        (r"\bde quoi (ca|il|elle) parle\b|\bca parle de quoi\b", "what's it about"),
        (r"\bpourquoi (c'?est|est-ce|il est|elle est|ca coute) (si |aussi |tellement )?(cher|chere|autant)\b", "why is it so expensive"),
        (r"\bqu'?est-ce qu'?(on|je) (peut|peux) faire\b", "what can i do"), (r"\bqu'?est-ce qu'?(on|je) (peut|peux) y faire\b", "what can i do there"),
        (r"\b(que dit|qu'?est-ce qui est ecrit|qu'?est-ce qu'?il y a d'?ecrit)\b", "what does it say"),
        (r"\b(tableau d'?affichage|panneau d'?affichage)\b", "notice board"), (r"\b(stand|etal) de the\b", "tea stall"),
        (r"\b(stand|etal) de cartes\b", "map stall"), (r"\b(stand|etal) de tobin\b", "tobin's stall"),
        (r"\btables de lecture\b", "reading tables"), (r"\b(etageres|rayonnages)\b", "bookshelves"),
        (r"\b(fais-moi visiter|une visite|montre-moi (la ville|le coin))\b", "show me around"),
        (r"\b(comment (ca va|vas-tu|allez-vous|tu vas|vous allez)|ca va)\b", "how are you"),
        (r"\bqu'?est-ce que tu lis\b", "what are you reading"),
        (r"\bcombien (de |d')", "how many "),
        (r"\b(l'?)?heure du conte\b", "story hour"), (r"\b(la )?chasse au tresor\b", "treasure hunt"),
        (r"\b(le )?jour de marche\b", "market day"), (r"\bquand (est|commence)\b", "when is"), (r"\bquand\b", "when"),
        (r"\bnon,? merci\b", "no thanks"), (r"\b(merci beaucoup|merci)\b", "thank you"),
        (r"\b(bonjour|bonsoir|salut|coucou)\b", "hello"),
        (r"\b(au revoir|a bientot|a plus tard|a plus|bonne nuit)\b", "goodbye"),
        (r"\bou (est|sont|se trouve|se trouvent)\b", "where is"), (r"\bou\b(?= )", "where"),
        (r"\bcomment (aller|je vais|est-ce que je vais) (a|au)\b", "how do i get to the"),
        (r"\bcomment (y aller|j'y vais|est-ce que j'y vais|aller la-bas)\b", "how do i get there"),
        (r"\bemmene-?moi (a|au)\b", "take me to the"),
        (r"\bqu'?est-ce que (vous vendez|tu vends)\b", "what do you sell"),
        (r"\bque (vendez-vous|vends-tu|vendez vous)\b", "what do you sell"),
        (r"\b(vous vendez|tu vends) quoi\b", "what do you sell"),
        (r"\bque (me )?(recommandes-tu|recommandez-vous|conseilles-tu|conseillez-vous)\b", "what do you recommend"),
        (r"\bqu'?est-ce que (tu (me )?(recommandes|conseilles)|vous (me )?(recommandez|conseillez))\b",
         "what do you recommend"),
        (r"\b(recommandes|recommandez|recommander|conseilles|conseillez)\b", "recommend"),
        (r"\b(qu'?est-ce qui se passe|quoi de prevu|evenements?|activites)\b", "what's happening"),
        (r"\bqui est\b", "who is"), (r"\bquelle heure est-il\b", "what time is it"),
        (r"\bque fais-tu\b|\bqu'?est-ce que tu fais\b", "what are you doing"), (r"\b(reduction|remise|ristourne)\b", "discount"), (r"\b(c'est )?trop cher\b", "too expensive"),
        (r"\bmoins cher(e|s|es)? que\b", "cheaper than"), (r"\b(le |la )?plus cher(e)?\b", "the most expensive"), (r"\b(le )?moins cher\b", "the cheapest"),
        (r"\b(donne-moi|donnez-moi)\b", "give me"), (r"\b(as-tu|avez-vous|tu as|vous avez)\b", "do you have"),
        (r"\bquelque chose\b", "anything"), (r"\bmanger\b", "eat"), (r"\bboire\b", "drink"),
        (r"\bcombien (coute|coutent|pour)\b", "how much is"), (r"\bcombien\b", "how much"), (r"\bprix\b", "price"),
        (r"\bet (le|la|les)\b", "what about the"),
        (r"\bje (voudrais|veux) (acheter)?\b", "i want to buy"), (r"\bje (le|la) prends\b", "i'll take it"), (r"\b(je prends|j'en prends)\b", "i'll take"),
        (r"\bje cherche\b", "where is"),
        (r"\bacheter\b", "buy"),
        (r"\b(c'est quoi|qu'est-ce que c'est)\b", "what is"), (r"^\W*(oui|d'accord|bien sur|volontiers|ok)\b", "yes"), (r"^\W*non\b", "no"),
    ],
    "pt": [
        (r"\bo que (tem|ha) (pra|para) fazer\b", "what can i do"),
        (r"\b(do que (se )?trata|e sobre o que|fala sobre o que)\b", "what's it about"),
        (r"\bpor ?que (e|esta|custa) (tao |tanto )?(caro|cara|caros|caras)\b", "why is it so expensive"),
        (r"\bo que (da|da pra|da para|posso|se pode|podemos) (pra |para )?fazer\b", "what can i do"),
        (r"\bo que (diz|esta escrito)\b", "what does it say"),
        (r"\bquadro de avisos\b", "notice board"), (r"\bbanca de cha\b", "tea stall"),
        (r"\bbanca de mapas\b", "map stall"), (r"\bbanca do tobin\b", "tobin's stall"),
        (r"\bmesas de leitura\b", "reading tables"), (r"\b(estantes|prateleiras)\b", "bookshelves"),
        (r"\b(me mostra a cidade|mostre-me a cidade|um passeio|uma visita)\b", "show me around"),
        (r"\b(como (vai|voce esta|estas)|tudo bem)\b", "how are you"), (r"\bo que (voce esta|esta) lendo\b", "what are you reading"),
        (r"\bquant[oa]s\b", "how many"),
        (r"\b(a )?hora (do conto|da historia)\b", "story hour"), (r"\b(a )?caca ao tesouro\b", "treasure hunt"),
        (r"\b(o )?dia de (mercado|feira)\b", "market day"), (r"\bquando (e|comeca)\b", "when is"), (r"\bquando\b", "when"),
        (r"\bnao,? obrigad[oa]\b", "no thanks"), (r"\b(muito obrigad[oa]|obrigad[oa]|valeu)\b", "thank you"),
        (r"\b(ola|oi|bom dia|boa tarde|boa noite)\b", "hello"),
        (r"\b(tchau|adeus|ate logo|ate mais|ate breve)\b", "goodbye"),
        (r"\bonde (fica|ficam|esta|estao|e)\b", "where is"), (r"\bonde\b", "where"),
        (r"\bcomo (chego|vou) (a|ao|na|no)\b", "how do i get to the"),
        (r"\bcomo (chego|vou)( la| ate la| ali)?\b", "how do i get there"), (r"\bleve-?me (a|ao|para)\b", "take me to the"),
        (r"\bo que (voce vende|vende|vendes|tem)\b", "what do you sell"),
        (r"\bquanto (custa|custam|e|sao)\b", "how much is"), (r"\bquanto por\b", "how much for"),
        (r"\bo que (voce )?(me )?(recomenda|recomendas|sugere|indica)\b", "what do you recommend"),
        (r"\b(recomenda|recomendas|recomendaria|sugere|sugeres)\b", "recommend"),
        (r"\b(o que (esta acontecendo|tem hoje|ha hoje)|eventos?|atividades)\b", "what's happening"),
        (r"\bquem e\b", "who is"), (r"\bque horas sao\b", "what time is it"),
        (r"\bo que (voce esta|esta) fazendo\b", "what are you doing"), (r"\bdesconto\b", "discount"), (r"\b(e )?(muito caro|caro demais)\b", "too expensive"),
        (r"\bmais barat[oa]s? (do que|que)\b", "cheaper than"), (r"\b(o |a )?mais car[oa]\b", "the most expensive"), (r"\b(o )?mais barato\b", "the cheapest"),
        (r"\b(me de|me da|de-me)\b", "give me"), (r"\b(voce tem|tens)\b", "do you have"),
        (r"\b(comer|comida)\b", "eat"), (r"\bbeber\b", "drink"),
        (r"\bpreco\b", "price"), (r"\be (o|a|os|as)\b(?= \w)", "what about the"),
        (r"\b(quero|queria|gostaria de) comprar\b", "i want to buy"), (r"\b(quero|queria)\b", "i want"),
        (r"\b(eu levo|vou levar|levo)\b", "i'll take it"),
        (r"\b(procuro|estou procurando)\b", "where is"), (r"\bcomprar\b", "buy"),
        (r"\bo que e\b", "what is"), (r"^\W*(sim|claro|pode ser|com certeza)\b", "yes"), (r"^\W*nao\b", "no"),
    ],
}

# Common words for places, goods and numbers -> English (room and item names are then matched as written).
GLOSSARY: dict[str, dict[str, str]] = {
    "es": {"aqui": "here", "aca": "here", "pozo": "well", "bancos": "benches", "mostrador": "front desk", "alfombra": "rug", "cajas": "crates", "algo": "anything", "biblioteca": "library", "mercado": "market", "plaza": "plaza", "fuente": "fountain", "tienda": "shop",
           "farol": "lantern", "faroles": "lanterns", "linterna": "lantern", "linternas": "lanterns",
           "lampara": "lantern", "mapa": "map", "mapas": "maps", "te": "tea", "tes": "teas", "aceite": "oil", "libro": "book",
           "libros": "books", "monedas": "coins", "uno": "one", "una": "one", "un": "a", "dos": "two", "tres": "three",
           "cuatro": "four", "cinco": "five", "con": "with", "por": "for", "para": "for", "el": "the", "la": "the", "los": "the", "las": "the", "de": "of"},
    "de": {"ziehbrunnen": "well", "hier": "here", "bank": "benches", "banke": "benches", "empfang": "front desk", "theke": "front desk", "teppich": "rug", "kisten": "crates", "etwas": "anything", "bibliothek": "library", "bucherei": "library", "markt": "market", "marktplatz": "market",
           "platz": "plaza", "brunnen": "fountain", "laden": "shop", "laterne": "lantern", "laternen": "lanterns",
           "lampe": "lantern", "karte": "map", "stadtplan": "map", "karten": "maps", "tee": "tea", "tees": "teas", "ol": "oil",
           "lampenol": "oil", "buch": "book", "bucher": "books", "munzen": "coins", "eins": "one", "einen": "a",
           "eine": "a", "ein": "a", "mit": "with", "fur": "for", "zwei": "two", "drei": "three", "vier": "four", "funf": "five", "der": "the",
           "die": "the", "das": "the", "zum": "to the", "zur": "to the", "sie": "it", "es": "it", "ihn": "it"},
    "fr": {"ici": "here", "puits": "well", "bancs": "benches", "accueil": "front desk", "comptoir": "front desk", "tapis": "rug", "caisses": "crates", "bibliotheque": "library", "marche": "market", "place": "plaza", "fontaine": "fountain",
           "boutique": "shop", "lanterne": "lantern", "lanternes": "lanterns", "lampe": "lantern", "carte": "map",
           "plan": "map", "cartes": "maps", "the": "tea", "thes": "teas", "huile": "oil", "livre": "book", "livres": "books",
           "pieces": "coins", "avec": "with", "pour": "for", "un": "one", "une": "one", "deux": "two", "trois": "three", "quatre": "four",
           "cinq": "five", "le": "the", "la": "the", "les": "the", "l": "the", "de": "of"},
    "pt": {"aqui": "here", "poco": "well", "bancos": "benches", "balcao": "front desk", "recepcao": "front desk", "tapete": "rug", "caixas": "crates", "algo": "anything", "biblioteca": "library", "mercado": "market", "praca": "plaza", "fonte": "fountain", "loja": "shop",
           "lanterna": "lantern", "lanternas": "lanterns", "lampiao": "lantern", "candeeiro": "lantern",
           "mapa": "map", "mapas": "maps", "cha": "tea", "chas": "teas", "oleo": "oil", "azeite": "oil", "livro": "book",
           "livros": "books", "moedas": "coins", "com": "with", "por": "for", "para": "for", "um": "one", "uma": "one", "dois": "two", "duas": "two",
           "tres": "three", "quatro": "four", "cinco": "five", "o": "the", "os": "the", "as": "the", "do": "of the",
           "da": "of the"},
}

_COMPILED = {lang: [(re.compile(p), en) for p, en in rules] for lang, rules in PHRASES.items()}


def gloss(text: str, lang: str | None) -> str:
    """The English the brain's rules read for a line in `lang` (the line itself for English or a
    language the lexicon lacks)."""
    if not lang or lang == "en" or lang not in _COMPILED:
        return text
    t = fold(text).replace("¿", " ").replace("¡", " ")
    for rx, en in _COMPILED[lang]:
        t = rx.sub(f"\x02{en}\x03", t)  # marked: the glossary must not re-read English ("do" is pt for "of the")
    words = GLOSSARY.get(lang, {})
    parts = re.split(r"(\x02[^\x03]*\x03)", t)
    t = "".join(p if p.startswith("\x02") else re.sub(r"[^\W\d_]+", lambda m: words.get(m.group(0), m.group(0)), p)
                for p in parts)
    t = " ".join(t.replace("\x02", " ").replace("\x03", " ").split())
    return re.sub(r" ([?!.,;:])", r"\1", t)


def understood(text: str, lang: str | None) -> bool:
    """Did the lexicon recognise anything in this line (a phrase or a glossary word)?"""
    if not lang or lang == "en" or lang not in _COMPILED:
        return True
    t = fold(text)
    return any(rx.search(t) for rx, _ in _COMPILED[lang]) or any(
        w in GLOSSARY[lang] and GLOSSARY[lang][w] not in ("the", "of", "a", "of the", "to the")
        for w in re.findall(r"[^\W\d_]+", t))


# -- replies --------------------------------------------------------------------------------------
DIRECTIONS = {
    "north": {"es": "al norte", "de": "nördlich", "fr": "au nord", "pt": "ao norte", "en": "north"},
    "south": {"es": "al sur", "de": "südlich", "fr": "au sud", "pt": "ao sul", "en": "south"},
    "east": {"es": "al este", "de": "östlich", "fr": "à l'est", "pt": "a leste", "en": "east"},
    "west": {"es": "al oeste", "de": "westlich", "fr": "à l'ouest", "pt": "a oeste", "en": "west"},
}

TEMPLATES: dict[str, dict[str, str]] = {
    "greet_new": {
        "en": "Hello {name}, welcome to {here}! I'm {me}, the {role}. {help}",
        "es": "¡Hola, {name}, bienvenido a {here}! Soy {me}. ¿En qué te puedo ayudar?",
        "de": "Hallo {name}, willkommen in {here}! Ich bin {me}. Wie kann ich dir helfen?",
        "fr": "Bonjour {name}, bienvenue à {here} ! Je suis {me}. Comment puis-je t'aider ?",
        "pt": "Olá, {name}, bem-vindo a {here}! Eu sou {me}. Como posso te ajudar?",
    },
    "greet_again": {
        "en": "Hello again, {name}! {help}",
        "es": "¡Hola de nuevo, {name}! ¿Qué necesitas?",
        "de": "Hallo nochmal, {name}! Was brauchst du?",
        "fr": "Re-bonjour, {name} ! De quoi as-tu besoin ?",
        "pt": "Olá de novo, {name}! Do que você precisa?",
    },
    "list": {
        "en": "I have {items}. What catches your eye, {name}?",
        "es": "Tengo {items}. ¿Qué te gustaría, {name}?",
        "de": "Ich habe {items}. Was darf es sein, {name}?",
        "fr": "J'ai {items}. Qu'est-ce qui te plaît, {name} ?",
        "pt": "Eu tenho {items}. O que você gostaria, {name}?",
    },
    "item_price": {"en": "{item} for {price} coins", "es": "{item} por {price} monedas",
                   "de": "{item} für {price} Münzen", "fr": "{item} pour {price} pièces",
                   "pt": "{item} por {price} moedas"},
    "sold_out": {
        "en": "I'm sold out of everything, I'm afraid.", "es": "Lo siento, no me queda nada.",
        "de": "Tut mir leid, ich bin ausverkauft.", "fr": "Désolé, je n'ai plus rien.",
        "pt": "Desculpe, não tenho mais nada.",
    },
    "offer": {
        "en": "{item} for {total} coins, {name}. Shall I hand it over? Say yes to confirm.",
        "es": "{item} por {total} monedas, {name}. ¿Te lo doy? Di que sí para confirmar.",
        "de": "{item} für {total} Münzen, {name}. Soll ich es dir geben? Sag ja, um zu bestätigen.",
        "fr": "{item} pour {total} pièces, {name}. Je te l'emballe ? Dis oui pour confirmer.",
        "pt": "{item} por {total} moedas, {name}. Posso te entregar? Diga sim para confirmar.",
    },
    "price_offer": {
        "en": "A {item} is {price} coins; I have {stock}. Want one? Say yes and it's yours.",
        "es": "Un {item} cuesta {price} monedas; tengo {stock}. ¿Quieres uno? Di que sí y es tuyo.",
        "de": "Ein {item} kostet {price} Münzen; ich habe {stock}. Willst du eins? Sag ja, und es gehört dir.",
        "fr": "Un {item} coûte {price} pièces ; j'en ai {stock}. Tu en veux un ? Dis oui et il est à toi.",
        "pt": "Um {item} custa {price} moedas; tenho {stock}. Quer um? Diga sim e é seu.",
    },
    "restate": {
        "en": "That's {item} for {total} coins, {name}. Say yes to confirm, or no.",
        "es": "Son {item} por {total} monedas, {name}. Di que sí para confirmar, o no.",
        "de": "Das sind {item} für {total} Münzen, {name}. Sag ja zum Bestätigen, oder nein.",
        "fr": "Ça fait {item} pour {total} pièces, {name}. Dis oui pour confirmer, ou non.",
        "pt": "São {item} por {total} moedas, {name}. Diga sim para confirmar, ou não.",
    },
    "sold": {
        "en": "Here you are, {name}: {item}. That's {total} coins, thank you kindly!",
        "es": "Aquí tienes, {name}: {item}. Son {total} monedas, ¡muchas gracias!",
        "de": "Bitte sehr, {name}: {item}. Das macht {total} Münzen, vielen Dank!",
        "fr": "Voilà, {name} : {item}. Ça fait {total} pièces, merci beaucoup !",
        "pt": "Aqui está, {name}: {item}. São {total} moedas, muito obrigado!",
    },
    "declined": {
        "en": "No trouble at all, {name}. Anything else?", "es": "No pasa nada, {name}. ¿Algo más?",
        "de": "Kein Problem, {name}. Sonst noch etwas?", "fr": "Aucun souci, {name}. Autre chose ?",
        "pt": "Sem problema, {name}. Mais alguma coisa?",
    },
    "lapsed": {
        "en": "My offer of {item} lapsed, {name}, offers only keep a little while. It's {total} coins now: say yes again to take it.",
        "es": "Mi oferta de {item} caducó, {name}. Ahora son {total} monedas: di que sí otra vez para llevártelo.",
        "de": "Mein Angebot für {item} ist abgelaufen, {name}. Jetzt sind es {total} Münzen: sag noch einmal ja.",
        "fr": "Mon offre pour {item} a expiré, {name}. C'est {total} pièces maintenant : redis oui pour le prendre.",
        "pt": "Minha oferta de {item} expirou, {name}. Agora são {total} moedas: diga sim de novo para levar.",
    },
    "lapsed_notice": {
        "en": "{name}, my offer of {item} has lapsed. Ask again whenever you like.",
        "es": "{name}, mi oferta de {item} ha caducado. Pregúntame otra vez cuando quieras.",
        "de": "{name}, mein Angebot für {item} ist abgelaufen. Frag einfach noch einmal.",
        "fr": "{name}, mon offre pour {item} a expiré. Redemande quand tu veux.",
        "pt": "{name}, minha oferta de {item} expirou. Pergunte de novo quando quiser.",
    },
    "no_offer": {
        "en": "There's nothing to say yes to just yet, {name}. What would you like?",
        "es": "Todavía no hay nada que confirmar, {name}. ¿Qué te gustaría?",
        "de": "Es gibt noch nichts zu bestätigen, {name}. Was möchtest du?",
        "fr": "Il n'y a encore rien à confirmer, {name}. Que veux-tu ?",
        "pt": "Ainda não há nada para confirmar, {name}. O que você gostaria?",
    },
    "out_of_stock": {
        "en": "Sorry, {name}, I'm out of {item} right now.", "es": "Lo siento, {name}, no me quedan {item}.",
        "de": "Tut mir leid, {name}, {item} ist gerade ausverkauft.",
        "fr": "Désolé, {name}, je n'ai plus de {item} pour l'instant.",
        "pt": "Desculpe, {name}, estou sem {item} agora.",
    },
    "which": {
        "en": "What would you like, {name}? {list}", "es": "¿Qué te gustaría, {name}? {list}",
        "de": "Was möchtest du, {name}? {list}", "fr": "Que veux-tu, {name} ? {list}",
        "pt": "O que você gostaria, {name}? {list}",
    },
    "no_shop": {
        "en": "I don't sell anything myself, {name}. {seller} keeps a stall in {where}.",
        "es": "Yo no vendo nada, {name}. {seller} tiene un puesto en {where}.",
        "de": "Ich verkaufe selbst nichts, {name}. {seller} hat einen Stand in {where}.",
        "fr": "Je ne vends rien moi-même, {name}. {seller} tient un étal à {where}.",
        "pt": "Eu não vendo nada, {name}. {seller} tem uma banca em {where}.",
    },
    "where": {
        "en": "{room} is {dir} {of_from}, {name}. {desc}",
        "es": "{room} está {dir} {of_from}, {name}. Es fácil de encontrar.",
        "de": "{room} liegt {dir} {of_from}, {name}. Leicht zu finden.",
        "fr": "{room} se trouve {dir} {of_from}, {name}. C'est facile à trouver.",
        "pt": "{room} fica {dir} {of_from}, {name}. É fácil de achar.",
    },
    "where_plain": {
        "en": "{room}, {name}: {desc} It's one road from {from_}.",
        "es": "{room}, {name}: está a un camino de {from_}. Es fácil de encontrar.",
        "de": "{room}, {name}: nur einen Weg von {from_} entfernt. Leicht zu finden.",
        "fr": "{room}, {name} : c'est à un chemin de {from_}. C'est facile à trouver.",
        "pt": "{room}, {name}: fica a um caminho de {from_}. É fácil de achar.",
    },
    "here_already": {
        "en": "You're in {room} right now, {name}.", "es": "Ya estás en {room}, {name}.",
        "de": "Du bist schon in {room}, {name}.", "fr": "Tu es déjà à {room}, {name}.",
        "pt": "Você já está em {room}, {name}.",
    },
    "follow": {
        "en": "Follow me to {room}, {name}! Pick '{room}' in your room list to come along.",
        "es": "¡Sígueme a {room}, {name}! Elige '{room}' en tu lista de salas.",
        "de": "Folge mir nach {room}, {name}! Wähle '{room}' in deiner Raumliste.",
        "fr": "Suis-moi à {room}, {name} ! Choisis '{room}' dans ta liste de salles.",
        "pt": "Siga-me até {room}, {name}! Escolha '{room}' na sua lista de salas.",
    },
    "thanks": {
        "en": "You're very welcome, {name}!", "es": "¡De nada, {name}!", "de": "Gern geschehen, {name}!",
        "fr": "Avec plaisir, {name} !", "pt": "De nada, {name}!",
    },
    "farewell": {
        "en": "Goodbye, {name}! Come back soon.", "es": "¡Adiós, {name}! Vuelve pronto.",
        "de": "Auf Wiedersehen, {name}! Komm bald wieder.", "fr": "Au revoir, {name} ! Reviens vite.",
        "pt": "Tchau, {name}! Volte logo.",
    },
    "not_understood": {
        "en": "Hmm, I'm not sure about that, {name}. {help}",
        "es": "Lo siento, {name}, mi español es muy básico: entiendo saludos, direcciones, precios y compras.",
        "de": "Entschuldige, {name}, mein Deutsch ist sehr einfach: ich verstehe Grüße, Wege, Preise und Käufe.",
        "fr": "Désolé, {name}, mon français est très simple : je comprends les salutations, les directions, les prix et les achats.",
        "pt": "Desculpe, {name}, meu português é bem básico: entendo saudações, direções, preços e compras.",
    },
    "english_only": {
        "en": "", "es": "(Esto solo lo sé decir en inglés.)", "de": "(Das kann ich nur auf Englisch sagen.)",
        "fr": "(Je ne sais le dire qu'en anglais.)", "pt": "(Isso eu só sei dizer em inglês.)",
    },
    "recommend_own": {
        "en": "I'd go for the {item}, {name}: {price} coins, and I have {stock}. Want one? Say yes and it's yours.",
        "es": "Yo te recomiendo {item}, {name}: {price} monedas, y tengo {stock}. ¿Quieres uno? Di que sí y es tuyo.",
        "de": "Ich empfehle dir {item}, {name}: {price} Münzen, ich habe {stock}. Willst du eins? Sag ja, und es gehört dir.",
        "fr": "Je te conseille {item}, {name} : {price} pièces, j'en ai {stock}. Tu en veux un ? Dis oui et il est à toi.",
        "pt": "Eu recomendo {item}, {name}: {price} moedas, e tenho {stock}. Quer um? Diga sim e é seu.",
    },
    "recommend_stall": {
        "en": "At {seller}'s stall in {where} I'd try the {item}, {name}: {price} coins.",
        "es": "En el puesto de {seller}, en {where}, yo probaría {item}, {name}: {price} monedas.",
        "de": "An {seller}s Stand in {where} würde ich {item} nehmen, {name}: {price} Münzen.",
        "fr": "Au stand de {seller}, à {where}, je prendrais {item}, {name} : {price} pièces.",
        "pt": "Na banca de {seller}, em {where}, eu provaria {item}, {name}: {price} moedas.",
    },
    "also_has": {
        "en": "{seller} also has {list}.", "es": "{seller} también tiene {list}.", "de": "{seller} hat auch {list}.",
        "fr": "{seller} a aussi {list}.", "pt": "{seller} também tem {list}.",
    },
    "sell_nothing": {
        "en": "I don't sell anything myself, {name}.", "es": "Yo no vendo nada, {name}.",
        "de": "Ich verkaufe selbst nichts, {name}.", "fr": "Je ne vends rien moi-même, {name}.",
        "pt": "Eu não vendo nada, {name}.",
    },
    "stall_at": {
        "en": "{seller} keeps a stall in {where}: {list}.", "es": "{seller} tiene un puesto en {where}: {list}.",
        "de": "{seller} hat einen Stand in {where}: {list}.", "fr": "{seller} tient un étal à {where} : {list}.",
        "pt": "{seller} tem uma banca em {where}: {list}.",
    },
    "stall_price": {
        "en": "{seller} sells the {item} for {price} coins in {where}, {name}; I don't sell anything myself.",
        "es": "{seller} vende {item} por {price} monedas en {where}, {name}; yo no vendo nada.",
        "de": "{seller} verkauft {item} für {price} Münzen in {where}, {name}; ich selbst verkaufe nichts.",
        "fr": "{seller} vend {item} pour {price} pièces à {where}, {name} ; moi, je ne vends rien.",
        "pt": "{seller} vende {item} por {price} moedas em {where}, {name}; eu não vendo nada.",
    },
    "stall_item_price": {
        "en": "The {item} is {price} coins at {seller}'s stall in {where}, {name}.",
        "es": "{item} cuesta {price} monedas en el puesto de {seller}, en {where}, {name}.",
        "de": "{item} kostet {price} Münzen an {seller}s Stand in {where}, {name}.",
        "fr": "{item} coûte {price} pièces à l'étal de {seller}, à {where}, {name}.",
        "pt": "{item} custa {price} moedas na banca de {seller}, em {where}, {name}.",
    },
    "sale_no_funds": {
        "en": "Your purse is a little light for that, {name}: it's {total} coins.",
        "es": "Te falta un poco en la bolsa para eso, {name}: son {total} monedas.",
        "de": "Dein Geldbeutel ist dafür etwas zu leicht, {name}: es kostet {total} Münzen.",
        "fr": "Ta bourse est un peu légère pour ça, {name} : c'est {total} pièces.",
        "pt": "Sua bolsa está um pouco leve para isso, {name}: são {total} moedas.",
    },
    "sale_ran_out": {
        "en": "Oh dear, {name}, I've just run out of {item}!", "es": "¡Vaya, {name}, se me acaba de agotar {item}!",
        "de": "Oje, {name}, {item} ist mir gerade ausgegangen!", "fr": "Oh là là, {name}, je n'ai plus de {item} !",
        "pt": "Ah, {name}, acabou de esgotar {item}!",
    },
    "sale_frozen": {
        "en": "I'm afraid I can't take coins from a frozen wallet, {name}.",
        "es": "Lo siento, {name}, no puedo cobrar de un monedero congelado.",
        "de": "Tut mir leid, {name}, von einer gesperrten Geldbörse kann ich nichts nehmen.",
        "fr": "Désolé, {name}, je ne peux pas prendre de pièces d'un porte-monnaie gelé.",
        "pt": "Sinto muito, {name}, não posso receber de uma carteira congelada.",
    },
    "sale_lapsed": {
        "en": "That offer has lapsed, {name}. Ask me again if you still want it.",
        "es": "Esa oferta ha caducado, {name}. Pídemela otra vez si aún la quieres.",
        "de": "Das Angebot ist abgelaufen, {name}. Frag mich noch einmal, wenn du es noch willst.",
        "fr": "Cette offre a expiré, {name}. Redemande-moi si tu la veux toujours.",
        "pt": "Essa oferta expirou, {name}. Peça de novo se ainda quiser.",
    },
    "sale_failed": {
        "en": "Something went wrong with that sale, {name}. Your coins are safe.",
        "es": "Algo salió mal con esa venta, {name}. Tus monedas están a salvo.",
        "de": "Bei diesem Verkauf ist etwas schiefgegangen, {name}. Deine Münzen sind sicher.",
        "fr": "Quelque chose s'est mal passé avec cette vente, {name}. Tes pièces sont en sécurité.",
        "pt": "Algo deu errado com essa venda, {name}. Suas moedas estão seguras.",
    },
    "stock_left": {
        "en": "{item}: I have {stock} left, {name}, at {price} coins each.",
        "es": "{item}: me quedan {stock}, {name}, a {price} monedas cada uno.",
        "de": "{item}: ich habe noch {stock}, {name}, für {price} Münzen das Stück.",
        "fr": "{item} : il m'en reste {stock}, {name}, à {price} pièces l'unité.",
        "pt": "{item}: ainda tenho {stock}, {name}, por {price} moedas cada.",
    },
    "off_to": {
        "en": "I'm off to {room}. See you around!", "es": "Me voy a {room}. ¡Hasta luego!",
        "de": "Ich gehe nach {room}. Bis später!", "fr": "Je pars pour {room}. À plus tard !",
        "pt": "Vou para {room}. Até logo!",
    },
    "tour": {
        "en": "Gladly, {name}! Beyond this room there are {places}. Say \"take me to {room}\" and I'll lead the way.",
        "es": "¡Con gusto, {name}! Además de aquí están {places}. Di \"llévame a {room}\" y te guío.",
        "de": "Gern, {name}! Außer hier gibt es {places}. Sag \"bring mich zu {room}\" und ich gehe voraus.",
        "fr": "Avec plaisir, {name} ! À part ici, il y a {places}. Dis « emmène-moi à {room} » et je te guide.",
        "pt": "Com prazer, {name}! Além daqui há {places}. Diga \"leve-me a {room}\" e eu te guio.",
    },
    "well": {
        "en": "I'm well, thank you, {name}! How can I help?", "es": "¡Estoy bien, gracias, {name}! ¿En qué te puedo ayudar?",
        "de": "Mir geht's gut, danke, {name}! Wie kann ich helfen?", "fr": "Je vais bien, merci, {name} ! Comment puis-je t'aider ?",
        "pt": "Estou bem, obrigado, {name}! Como posso ajudar?",
    },
    "well_doing": {"en": "I'm well, thank you, {name}! I'm {doing} until {until}."},
    "stall_sold_out": {
        "en": "{seller} is out of {item} right now, {name}.", "es": "A {seller} no le quedan {item}, {name}.",
        "de": "{seller} hat gerade kein {item} mehr, {name}.", "fr": "{seller} n'a plus de {item} pour l'instant, {name}.",
        "pt": "{seller} está sem {item} agora, {name}.",
    },
    "nobody_sells": {
        "en": "Nobody in town sells {what} that I know of, {name}.",
        "es": "Que yo sepa, nadie en el pueblo vende eso, {name}.",
        "de": "Soweit ich weiß, verkauft das hier niemand, {name}.",
        "fr": "À ma connaissance, personne ne vend ça en ville, {name}.",
        "pt": "Que eu saiba, ninguém na cidade vende isso, {name}.",
    },
    "budget": {
        "en": "For {budget} coins, {name}: {list}.", "es": "Por {budget} monedas, {name}: {list}.",
        "de": "Für {budget} Münzen, {name}: {list}.", "fr": "Pour {budget} pièces, {name} : {list}.",
        "pt": "Por {budget} moedas, {name}: {list}.",
    },
    "budget_none": {
        "en": "Nothing for {budget} coins, I'm afraid, {name}. The cheapest is {item} for {price} coins.",
        "es": "Nada por {budget} monedas, lo siento, {name}. Lo más barato es {item} por {price} monedas.",
        "de": "Für {budget} Münzen leider nichts, {name}. Am günstigsten ist {item} für {price} Münzen.",
        "fr": "Rien pour {budget} pièces, désolé, {name}. Le moins cher, c'est {item} pour {price} pièces.",
        "pt": "Nada por {budget} moedas, desculpe, {name}. O mais barato é {item} por {price} moedas.",
    },
    "haggle": {
        "en": "Ha! My prices are fair and the same for everyone, {name}. The cheapest thing I have is {item} for {price} coins.",
        "es": "¡Ja! Mis precios son justos e iguales para todos, {name}. Lo más barato que tengo es {item} por {price} monedas.",
        "de": "Ha! Meine Preise sind fair und für alle gleich, {name}. Am günstigsten ist {item} für {price} Münzen.",
        "fr": "Ha ! Mes prix sont justes et les mêmes pour tous, {name}. Le moins cher, c'est {item} pour {price} pièces.",
        "pt": "Ha! Meus preços são justos e iguais para todos, {name}. O mais barato que tenho é {item} por {price} moedas.",
    },
    "who_is": {
        "en": "{who} is the {role}; right now in {room}.", "es": "{who} ({role}) está en {room} ahora.",
        "de": "{who} ({role}) ist gerade in {room}.", "fr": "{who} ({role}) est à {room} en ce moment.",
        "pt": "{who} ({role}) está em {room} agora.",
    },
    "neighbour": {
        "en": "{who} the {role} (in {room})", "es": "{who} ({role}, en {room})", "de": "{who} ({role}, in {room})",
        "fr": "{who} ({role}, à {room})", "pt": "{who} ({role}, em {room})",
    },
    "neighbours": {
        "en": "Besides me there's {list}, {name}.", "es": "Además de mí: {list}, {name}.", "de": "Außer mir: {list}, {name}.",
        "fr": "À part moi : {list}, {name}.", "pt": "Além de mim: {list}, {name}.",
    },
    "room_about": {
        "en": "{room}: {desc}", "es": "{room}: {desc}", "de": "{room}: {desc}", "fr": "{room} : {desc}", "pt": "{room}: {desc}",
    },
    "kept_by": {
        "en": "{who} keeps it.", "es": "{who} está a cargo.", "de": "{who} kümmert sich darum.", "fr": "{who} s'en occupe.",
        "pt": "{who} cuida de lá.",
    },
    "now_on": {
        "en": "Right now: {list}.", "es": "Ahora mismo: {list}.", "de": "Gerade jetzt: {list}.",
        "fr": "En ce moment : {list}.", "pt": "Agora: {list}.",
    },
    "next_on": {
        "en": "Coming up: {list}.", "es": "Próximamente: {list}.", "de": "Demnächst: {list}.",
        "fr": "Bientôt : {list}.", "pt": "Em breve: {list}.",
    },
    "event_at": {
        "en": "{title} at {at} in {room}", "es": "{title} a las {at} en {room}", "de": "{title} um {at} in {room}",
        "fr": "{title} à {at} à {room}", "pt": "{title} às {at} em {room}",
    },
    "event_tomorrow": {
        "en": "{title} tomorrow at {at} in {room}", "es": "{title} mañana a las {at} en {room}",
        "de": "{title} morgen um {at} in {room}", "fr": "{title} demain à {at} à {room}",
        "pt": "{title} amanhã às {at} em {room}",
    },
    "event_here": {
        "en": "{title} in {room}", "es": "{title} en {room}", "de": "{title} in {room}", "fr": "{title} à {room}",
        "pt": "{title} em {room}",
    },
    "event_is": {
        "en": "{title} is at {at} in {room}, {name}. {desc}", "es": "{title} es a las {at} en {room}, {name}.",
        "de": "{title} ist um {at} in {room}, {name}.", "fr": "{title}, c'est à {at} à {room}, {name}.",
        "pt": "{title} é às {at} em {room}, {name}.",
    },
    "event_when": {
        "en": "{title} starts at {at} in {room}, {name}.", "es": "{title} empieza a las {at} en {room}, {name}.",
        "de": "{title} beginnt um {at} in {room}, {name}.", "fr": "{title} commence à {at} à {room}, {name}.",
        "pt": "{title} começa às {at} em {room}, {name}.",
    },
    "event_running": {
        "en": "{title} is on right now in {room}, {name}. {desc}", "es": "{title} es ahora mismo en {room}, {name}.",
        "de": "{title} läuft gerade in {room}, {name}.", "fr": "{title}, c'est maintenant à {room}, {name}.",
        "pt": "{title} está acontecendo agora em {room}, {name}.",
    },
    "time_now": {
        "en": "It's {clock} in town, {name}, {part}.", "es": "Son las {clock} en el pueblo, {name}.",
        "de": "Es ist {clock} in der Stadt, {name}.", "fr": "Il est {clock} en ville, {name}.",
        "pt": "São {clock} na cidade, {name}.",
    },
    "doing_now": {
        "en": "I'm {doing} in {room} until {until}, {name}.", "es": "Ahora: {doing} ({room}, hasta las {until}), {name}.",
        "de": "Gerade: {doing} ({room}, bis {until}), {name}.", "fr": "En ce moment : {doing} ({room}, jusqu'à {until}), {name}.",
        "pt": "Agora: {doing} ({room}, até {until}), {name}.",
    },
    "nothing_on": {
        "en": "Nothing is on the calendar just now, {name}.", "es": "No hay nada previsto ahora, {name}.",
        "de": "Gerade steht nichts an, {name}.", "fr": "Rien de prévu pour l'instant, {name}.",
        "pt": "Nada previsto agora, {name}.",
    },
    "as_i_said": {
        "en": "As I said: {text}", "es": "Como te decía: {text}", "de": "Wie gesagt: {text}",
        "fr": "Comme je disais : {text}", "pt": "Como eu disse: {text}",
    },
    "only_have": {
        "en": "I only have {stock} {item} left, {name}. Want those?",
        "es": "Solo me quedan {stock} {item}, {name}. ¿Los quieres?",
        "de": "Ich habe nur noch {stock} {item}, {name}. Willst du die?",
        "fr": "Il ne me reste que {stock} {item}, {name}. Tu les veux ?",
        "pt": "Só tenho {stock} {item}, {name}. Quer esses?",
    },
    "place_at": {
        "en": "{Place} {verb} {where}, {name}.", "es": "{Place} {verb} {where}, {name}.",
        "de": "{Place} {verb} {where}, {name}.", "fr": "{Place} {verb} {where}, {name}.",
        "pt": "{Place} {verb} {where}, {name}.",
    },
    "place_says": {  # a label, not a verb: a notice board "says", a fountain does not
        "en": "{Place}: \u201c{text}\u201d", "es": "{Place}: \u00ab{text}\u00bb", "de": "{Place}: \u201e{text}\u201c",
        "fr": "{Place} : \u00ab {text} \u00bb", "pt": "{Place}: \u201c{text}\u201d",
    },
    "room_has": {
        "en": "In {room} there's {places}, {name}.", "es": "En {room} tienes {places}, {name}.",
        "de": "In {room} gibt es {places}, {name}.", "fr": "À {room}, il y a {places}, {name}.",
        "pt": "Em {room} tem {places}, {name}.",
    },
    "room_beyond": {
        "en": "And beyond it: {rooms}.", "es": "Y más allá: {rooms}.", "de": "Und weiter weg: {rooms}.",
        "fr": "Et plus loin : {rooms}.", "pt": "E mais adiante: {rooms}.",
    },
    "why_price": {
        "en": "{note}That's what the {item} is worth, {name}, and the price is the same for everyone.",
        "es": "Es lo que vale, {name}, y el precio es el mismo para todos.",
        "de": "Das ist es wert, {name}, und der Preis ist für alle gleich.",
        "fr": "C'est ce que ça vaut, {name}, et le prix est le même pour tous.",
        "pt": "É o que vale, {name}, e o preço é o mesmo para todos.",
    },
    "why_cheaper": {
        "en": "If it's too dear, {cheap} is {price} coins.", "es": "Si es demasiado, {cheap} cuesta {price} monedas.",
        "de": "Wenn es zu teuer ist: {cheap} kostet {price} Münzen.", "fr": "Si c'est trop cher, {cheap} coûte {price} pièces.",
        "pt": "Se for demais, {cheap} custa {price} moedas.",
    },
    "which_one": {"en": "Which one, {name}?", "es": "¿Cuál, {name}?", "de": "Welches, {name}?", "fr": "Lequel, {name} ?",
                  "pt": "Qual, {name}?"},
    "place_lead": {
        "en": "Come along, I'll walk you there.", "es": "Ven conmigo, te llevo.", "de": "Komm mit, ich bring dich hin.",
        "fr": "Viens, je t'y emmène.", "pt": "Vem comigo, eu te levo lá.",
    },
}


AND = {"en": "and", "es": "y", "de": "und", "fr": "et", "pt": "e"}

# The bundled maps' place names, said in each language (nominative, with the article); other names stay as
# the map has them. Plural names take the plural verb.
PLACE_NAMES: dict[str, dict[str, str]] = {
    "es": {"fountain": "la fuente", "well": "el pozo", "notice board": "el tablón de anuncios", "benches": "los bancos",
           "plane trees": "los plátanos", "road to the library": "el camino a la biblioteca",
           "road to the market": "el camino al mercado", "tea stall": "el puesto de té", "map stall": "el puesto de mapas",
           "fruit stall": "el puesto de fruta", "cloth stall": "el puesto de telas", "crates": "las cajas",
           "market board": "el tablón del mercado", "bookshelves": "las estanterías", "bookshelf": "la estantería",
           "reading tables": "las mesas de lectura", "front desk": "el mostrador", "rug": "la alfombra"},
    "de": {"fountain": "der Brunnen", "well": "der Ziehbrunnen", "notice board": "das Schwarze Brett", "benches": "die Bänke",
           "plane trees": "die Platanen", "road to the library": "der Weg zur Bibliothek",
           "road to the market": "der Weg zum Markt", "tea stall": "der Teestand", "map stall": "der Kartenstand",
           "fruit stall": "der Obststand", "cloth stall": "der Stoffstand", "crates": "die Kisten",
           "market board": "das Marktbrett", "bookshelves": "die Bücherregale", "bookshelf": "das Bücherregal",
           "reading tables": "die Lesetische", "front desk": "der Empfang", "rug": "der Teppich"},
    "fr": {"fountain": "la fontaine", "well": "le puits", "notice board": "le tableau d'affichage", "benches": "les bancs",
           "plane trees": "les platanes", "road to the library": "le chemin de la bibliothèque",
           "road to the market": "le chemin du marché", "tea stall": "l'étal de thé", "map stall": "l'étal de cartes",
           "fruit stall": "l'étal de fruits", "cloth stall": "l'étal de tissus", "crates": "les caisses",
           "market board": "le tableau du marché", "bookshelves": "les étagères", "bookshelf": "l'étagère",
           "reading tables": "les tables de lecture", "front desk": "l'accueil", "rug": "le tapis"},
    "pt": {"fountain": "a fonte", "well": "o poço", "notice board": "o quadro de avisos", "benches": "os bancos",
           "plane trees": "os plátanos", "road to the library": "o caminho da biblioteca",
           "road to the market": "o caminho do mercado", "tea stall": "a banca de chá", "map stall": "a banca de mapas",
           "fruit stall": "a banca de frutas", "cloth stall": "a banca de tecidos", "crates": "as caixas",
           "market board": "o quadro do mercado", "bookshelves": "as estantes", "bookshelf": "a estante",
           "reading tables": "as mesas de leitura", "front desk": "a recepção", "rug": "o tapete"},
}
POSSESSIVE_PLACE = {"es": "el puesto de {who}", "de": "{who}s Stand", "fr": "l'étal de {who}", "pt": "a banca de {who}"}
IS = {"en": ("is", "are"), "es": ("está", "están"), "de": ("ist", "sind"), "fr": ("est", "sont"), "pt": ("fica", "ficam")}
# Where in a room, by the place's centre in thirds of the room (y grows southward, as on the map).
SIDES = {
    "en": {"middle": "in the middle of {room}", "side": "on the {d} side of {room}", "corner": "in the {d} corner of {room}",
           "all": "all around {room}", "in": "in {room}"},
    "es": {"middle": "en el centro de {room}", "side": "en el lado {d} de {room}", "corner": "en la esquina {d} de {room}",
           "all": "por toda {room}", "in": "en {room}"},
    "de": {"middle": "in der Mitte von {room}", "side": "auf der {d}seite von {room}", "corner": "in der {d}ecke von {room}",
           "all": "überall in {room}", "in": "in {room}"},
    "fr": {"middle": "au milieu de {room}", "side": "du côté {d} de {room}", "corner": "dans le coin {d} de {room}",
           "all": "tout autour de {room}", "in": "à {room}"},
    "pt": {"middle": "no meio de {room}", "side": "no lado {d} de {room}", "corner": "no canto {d} de {room}",
           "all": "por toda {room}", "in": "em {room}"},
}
COMPASS = {
    "en": {"n": "north", "s": "south", "e": "east", "w": "west", "ne": "north-east", "nw": "north-west", "se": "south-east", "sw": "south-west"},
    "es": {"n": "norte", "s": "sur", "e": "este", "w": "oeste", "ne": "noreste", "nw": "noroeste", "se": "sureste", "sw": "suroeste"},
    "de": {"n": "Nord", "s": "Süd", "e": "Ost", "w": "West", "ne": "Nordost", "nw": "Nordwest", "se": "Südost", "sw": "Südwest"},
    "fr": {"n": "nord", "s": "sud", "e": "est", "w": "ouest", "ne": "nord-est", "nw": "nord-ouest", "se": "sud-est", "sw": "sud-ouest"},
    "pt": {"n": "norte", "s": "sul", "e": "leste", "w": "oeste", "ne": "nordeste", "nw": "noroeste", "se": "sudeste", "sw": "sudoeste"},
}


def place_name(name: str, lang: str | None) -> str:
    """A map's place name as said in `lang`: "the fountain", "la fuente", "Tobin's stall", "el puesto de Tobin"."""
    lang = lang if lang in LANGS else "en"
    if lang != "en":
        said = PLACE_NAMES[lang].get(name.casefold())
        if said:
            return said
        m = re.fullmatch(r"(.+?)'s stall", name)
        return POSSESSIVE_PLACE[lang].format(who=m.group(1)) if m else f"«{name}»"
    return name if "'s " in name else f"the {name}"


def place_is(name: str, lang: str | None) -> str:
    """The verb for a place name: plural names ("benches", "reading tables") take the plural."""
    one, many = IS.get(lang or "en") or IS["en"]
    return many if name.endswith("s") and not name.endswith("'s") else one


def place_where(x: float, y: float, width: float, height: float, room_w: float, room_h: float, room: str,
                lang: str | None) -> str:
    """Where a place lies in its room, in words: "in the middle of The Plaza", "in the north-east corner of ..."."""
    forms = SIDES.get(lang or "en") or SIDES["en"]
    words = COMPASS.get(lang or "en") or COMPASS["en"]
    if room_w <= 0 or room_h <= 0:
        return forms["in"].format(room=room)
    wide, tall = width >= 0.6 * room_w, height >= 0.6 * room_h
    if wide and tall:
        return forms["all"].format(room=room)
    fx, fy = (x + width / 2) / room_w, (y + height / 2) / room_h
    ns = "" if tall else "n" if fy < 1 / 3 else "s" if fy > 2 / 3 else ""
    ew = "" if wide else "w" if fx < 1 / 3 else "e" if fx > 2 / 3 else ""
    if not ns and not ew:
        return forms["middle"].format(room=room)
    if ns and ew:
        return forms["corner"].format(d=words[ns + ew], room=room)
    return forms["side"].format(d=words[ns or ew], room=room)


def say(key: str, lang: str | None, **fields) -> str:
    """The reply template `key` in `lang` (English when the lexicon lacks that language)."""
    forms = TEMPLATES[key]
    text = forms.get(lang or "en") or forms["en"]
    return " ".join(text.format(**fields).split())


def speaks(lang: str | None) -> bool:
    return bool(lang) and lang in LANGS
