"""Refuse a guessable token-signing secret on a world that listens beyond this machine.

Anyone who knows the secret can forge any user's login token, so a published example value, an
obvious placeholder or a short key is fine for a world on loopback only, never for one others reach.
"""

from __future__ import annotations

import ipaddress
import re

MIN_LENGTH = 32

# Values published in our files or commonly pasted from examples, compared without case or punctuation.
KNOWN = {"change-me-to-a-long-random-string", "changeme", "change-me", "secret", "secret-key", "secretkey",
         "your-secret-key", "my-secret-key", "supersecret", "password", "townsquare", "insecure", "default",
         "replace-me", "please-change-me", "test", "dev", "development", "example", "xxx", "todo"}
PLACEHOLDER_WORDS = ("changeme", "replaceme", "yoursecret", "placeholder", "example", "insecure", "notsecret")


def _squash(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def weakness(secret: str) -> str | None:
    """Why `secret` is guessable, or None when it is acceptable."""
    squashed = _squash(secret)
    if squashed in {_squash(k) for k in KNOWN}:
        return "it is a published example value"
    if any(word in squashed for word in PLACEHOLDER_WORDS):
        return "it is a placeholder"
    if len(secret) < MIN_LENGTH:
        return f"it is {len(secret)} characters long (at least {MIN_LENGTH} needed)"
    if len(set(secret)) < 8:
        return "it repeats a handful of characters"
    return None


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a hostname or "" (every interface): assume others can reach it


def check_serving_secret(host: str, secret: str, *, configured: bool) -> str | None:
    """The one-line refusal for serving `secret` on `host`, or None when it may serve."""
    if is_loopback(host):
        return None
    why = weakness(secret)
    if why is None:
        return None
    where = "TOWNSQUARE_SECRET_KEY" if configured else "secret_key file in the data dir"
    return (f"refusing to listen on {host or 'every interface'} with a weak {where} ({why}): anyone could forge "
            f"login tokens; set TOWNSQUARE_SECRET_KEY to a random string of {MIN_LENGTH}+ characters "
            "(openssl rand -base64 48), or unset it to use one generated in the data dir")
