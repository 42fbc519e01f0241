"""The one rule for text a person sends: no control characters, no bidi tricks.

Every text field (chat, names, usernames, memos, reasons, idempotency keys) goes through
`clean_text` or the `SafeText` pydantic type, so a NUL or a right-to-left override is refused with
`invalid_payload` (or the bidi controls removed) in one place instead of failing deep inside.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator

from server.protocol import ProtocolError

# Bidi embeddings, overrides and isolates: they reorder what a reader sees (U+202E hides a slur from
# a left-to-right scan but the browser shows it). Marks (LRM/RLM) only nudge neutral characters.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BIDI_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


def strip_bidi(text: str) -> str:
    """The text without bidi embedding/override/isolate controls."""
    return _BIDI_RE.sub("", text)


def bad_character(text: str, *, newlines: bool = False) -> str | None:
    """The first character a text field must not hold (C0/C1 controls, DEL, unpaired surrogates,
    noncharacters), or None. Tab is allowed where newlines are."""
    for ch in text:
        if ch in "\t\n" and newlines:
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc" or cat == "Cs" or (cat == "Cn" and _is_noncharacter(ch)):
            return ch
        if ch in "\u2028\u2029" and not newlines:
            return ch
    return None


def _is_noncharacter(ch: str) -> bool:
    cp = ord(ch)
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def clean_text(value: Any, what: str, *, max_len: int | None = None, newlines: bool = False,
               required: bool = False) -> str:
    """`value` as a safe, stripped string, or ProtocolError("invalid_payload") saying why."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ProtocolError("invalid_payload", f"{what} must be a string")
    bad = bad_character(value, newlines=newlines)
    if bad is not None:
        raise ProtocolError("invalid_payload", f"{what} has a control character (U+{ord(bad):04X})")
    value = strip_bidi(value).strip()
    if max_len is not None and len(value) > max_len:
        raise ProtocolError("invalid_payload", f"{what} must be at most {max_len} characters")
    if required and not value:
        raise ProtocolError("invalid_payload", f"{what} is required")
    return value


def _validate(value: str, newlines: bool) -> str:
    bad = bad_character(value, newlines=newlines)
    if bad is not None:
        # pydantic turns a ValueError into a validation error: the transport answers invalid_payload.
        raise ValueError(f"has a control character (U+{ord(bad):04X})")
    return strip_bidi(value)


SafeText = Annotated[str, AfterValidator(lambda v: _validate(v, False))]
"""One-line text: no control characters; bidi controls removed."""

SafeMultiline = Annotated[str, AfterValidator(lambda v: _validate(v, True))]
"""Like SafeText, but newlines and tabs are allowed (chat lines, notes)."""
