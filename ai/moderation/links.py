"""Links and chat-server invites in a message, found in the original and the folded text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .normalize import Normalized

__all__ = ["Link", "find_links", "host_allowed"]

_TLDS = (
    "com|net|org|io|gg|xyz|ru|ly|me|tv|co|uk|de|fr|es|pt|br|info|biz|app|dev|site|online|shop|"
    "store|top|club|link|live|to|cc|us|ca|au|in|jp|cn|nl|pl|it|eu|ws|su|tk|ml|ga|cf|gq|icu|fun|"
    "vip|win|bid|pw|sh|gl|am|fm|one|zone|click|lol|pro|ai|gift|gifts"
)
_URL = re.compile(
    r"(?<![\w@.-])(?:https?://|www\.)[^\s<>\"'`]+"
    r"|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")"
    r"(?![\w-])(?::\d{1,5})?(?:/[^\s<>\"'`]*)?",
    re.I,
)
_TRAILING = ".,;:!?)]}'\""
# top-level domains that are also common words right after a sentence's full stop
_WORD_TLDS = {"to", "in", "me", "it", "us", "am", "co", "so", "do", "go", "my", "no", "at", "be", "is", "on"}

# hosts (and path prefixes) that invite people to another chat server
_INVITES = (
    "discord.gg",
    "discord.com/invite",
    "discordapp.com/invite",
    "discord.me",
    "dsc.gg",
    "invite.gg",
    "t.me",
    "telegram.me",
    "telegram.dog",
    "chat.whatsapp.com",
    "guilded.gg/i",
    "revolt.chat/invite",
    "rvlt.gg",
)
# invites and links written to dodge a link filter, matched on the folded text
_OBFUSCATED_INVITE = re.compile(r"(?<![a-z])discord(?:app)?[\W_]*(?:gg|me|com[\W_]*invite)(?![a-z])")
_OBFUSCATED_LINK = re.compile(
    r"(?<![\w-])[a-z0-9-]{2,}\s*[(\[{]?\s*(?:dot|\(\.\)|\[\.\])\s*[)\]}]?\s*(?:com|net|org|gg|io|xyz|ru|ly|tv|me|co)(?![a-z])"
)


@dataclass(frozen=True, slots=True)
class Link:
    start: int  # span in the original text
    end: int
    host: str  # lower case, "" when it could not be read (obfuscated)
    invite: bool


def _host_and_path(url: str) -> tuple[str, str]:
    if not re.match(r"https?://", url, re.I):
        url = "http://" + url
    try:
        parts = urlsplit(url)
        return (parts.hostname or "").lower().rstrip("."), parts.path or ""
    except ValueError:
        return "", ""


def _is_invite(host: str, path: str) -> bool:
    host = host.removeprefix("www.")
    full = host + path.lower()
    return any(full == inv or full.startswith(inv + "/") or host == inv for inv in _INVITES)


def find_links(norm: Normalized) -> list[Link]:
    """Links in the message; obfuscated ones ("discord . gg", "site dot com") included."""
    text = norm.original
    links: list[Link] = []
    for m in _URL.finditer(text):
        start, end = m.start(), m.end()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        raw = text[start:end]
        host, path = _host_and_path(raw)
        if not host or "." not in host:
            continue
        if not re.match(r"(?:https?://|www\.)", raw, re.I):
            # "the end.To be": a missing blank before a capitalized word, not a domain
            tld = raw.split("/", 1)[0].split(":", 1)[0].rsplit(".", 1)[-1]
            if tld[:1].isupper() and not tld.isupper() and tld.lower() in _WORD_TLDS:
                continue
        links.append(Link(start, end, host, _is_invite(host, path)))
    folded = norm.text
    for pattern, invite in ((_OBFUSCATED_INVITE, True), (_OBFUSCATED_LINK, False)):
        for m in pattern.finditer(folded):
            start, end = norm.original_span(m.start(), m.end())
            # extend an invite over the code that follows it ("discord.gg / raidteam")
            if invite:
                tail = re.match(r"[\s/\\.:]*[\w-]+", text[end:])
                if tail:
                    end += tail.end()
            if any(link.start < end and start < link.end for link in links):
                continue
            links.append(Link(start, end, "", invite))
    links.sort(key=lambda link: link.start)
    return links


def host_allowed(host: str, allowed_domains: list[str]) -> bool:
    """Whether `host` is one of the allowed domains or a subdomain of one."""
    if not host:
        return False
    host = host.lower().removeprefix("www.")
    for domain in allowed_domains:
        d = domain.lower().strip().removeprefix("www.").rstrip(".")
        if d and (host == d or host.endswith("." + d)):
            return True
    return False
