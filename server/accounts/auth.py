"""Who is calling: bearer tokens on REST, with a role check (user < moderator < admin), and the
client's address (X-Forwarded-For only from a trusted proxy)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

from server.accounts.models import User
from server.accounts.service import Accounts
from server.protocol import ProtocolError

CURRENT_USER = web.RequestKey("user", User)
RANK = {"user": 0, "moderator": 1, "admin": 2}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def has_role(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or CIDRs ("10.0.0.0/8", "127.0.0.1") as networks; a bad entry is a ValueError."""
    return [ipaddress.ip_network(e.strip(), strict=False) for e in entries]


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip().split("%")[0])
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: str | None, trusted: list[Network]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the right-most
    X-Forwarded-For entry that is not itself a trusted proxy (entries left of it are the
    client's to write, so they are not believed)."""
    ip = _ip(peer or "")
    if ip is None:
        return peer or ""
    if not trusted or not forwarded_for or not any(ip in n for n in trusted):
        return str(ip)
    hops = [h for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break  # garbage from a client: keep the last address a trusted hop vouched for
        ip = hop_ip
        if not any(hop_ip in n for n in trusted):
            break
    return str(ip)


class Auth:
    def __init__(self, accounts: Accounts, trusted_proxies: Iterable[str] = ()):
        self.accounts = accounts
        self.trusted = parse_networks(trusted_proxies)

    def address(self, request: web.Request) -> str:
        return client_address(request.remote, request.headers.get("X-Forwarded-For"), self.trusted)

    async def require(self, request: web.Request, role: str = "user") -> User:
        """Sets request["user"]; the role and token version are read from the database, not trusted
        from the token (a demoted, banned or re-passworded user's older tokens stop at once)."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        user, _ = await self.accounts.authenticate(token)
        if not has_role(user.role, role):
            raise ProtocolError("forbidden", f"this needs the {role} role")
        request[CURRENT_USER] = user
        return user
