"""Using a map's interactive objects: a fountain takes a coin through the ledger (a real payment
from the person's wallet to the fountain's account, with the client's idempotency key, so a
retry tosses nothing twice); a notice board or a bookshelf gives its text and books."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from server.economy.updates import wallet_update
from server.protocol import ProtocolError
from server.world.geometry import RoomInfo
from server.world.tiled import Place

REACH = 4.0  # tiles between a person and an object's edge within which they can use it
FOUNTAIN_ACCOUNT = "fountain"


def within_reach(place: Place, x: float, y: float, reach: float = REACH) -> bool:
    dx = max(place.x - x, 0.0, x - (place.x + place.width))
    dy = max(place.y - y, 0.0, y - (place.y + place.height))
    return dx * dx + dy * dy <= reach * reach


def find_thing(info: RoomInfo, name: str) -> Place:
    place = next((p for p in info.objects if p.name.casefold() == name.strip().casefold()), None)
    if place is None:
        raise ProtocolError("not_found", f"there is no {name!r} in {info.name}")
    return place


def reading(place: Place) -> dict[str, Any]:
    """What a notice board or a bookshelf shows."""
    books = place.properties.get("books")
    return {"thing": place.name, "kind": place.kind, "text": str(place.properties.get("text") or ""),
            "books": [b for b in str(books).split("\n") if b.strip()] if books else []}


def coin_price(place: Place) -> int:
    """A fountain's price per toss (its `price` property), one coin unless the map says more."""
    try:
        price = int(str(place.properties.get("price", 1)))
    except ValueError:
        price = 1
    return max(1, min(price, 1000))


async def toss_coin(ledger, user_id: Any, info: RoomInfo, place: Place, idempotency_key: str) -> dict[str, Any]:
    """One coin (or the fountain's price) from the wallet to the fountain's account."""
    if place.kind != "fountain":
        raise ProtocolError("invalid_payload", f"the {place.name} takes no coins")
    if not idempotency_key:
        raise ProtocolError("invalid_payload", "a coin toss needs an idempotency_key")
    account = str(place.properties.get("account") or FOUNTAIN_ACCOUNT)
    return await ledger.pay(user_id, account, coin_price(place), idempotency_key=idempotency_key,
                            memo=f"a coin in the {place.name} of {info.name}")


def toss_update(result: dict[str, Any]) -> dict[str, Any]:
    """The payer's wallet:update for a toss (as for any payment)."""
    return wallet_update(result["balance"], transaction_id=result["transaction_id"], kind="purchase",
                         amount=-result["amount"], memo=result["memo"], created_at=result["created_at"],
                         counterparty={"kind": "sink", "key": result["account"]})


async def use_thing(conn, info: RoomInfo, name: str, idempotency_key: str | None, *, ledger, realtime,
                    position: Callable[[str, str], Awaitable[tuple[float, float] | None]]) -> dict[str, Any]:
    """Use an object of the room: a fountain within reach takes a coin (wallet:update follows),
    a board or a shelf gives its text and books. `position(room, uid)`: where the person stands."""
    place = find_thing(info, name)
    if place.kind != "fountain":
        return reading(place)  # read from anywhere in the room
    if not idempotency_key:
        raise ProtocolError("invalid_payload", "a coin toss needs an idempotency_key")
    here = await position(info.slug, conn.uid)
    if here is None or not within_reach(place, *here):
        raise ProtocolError("forbidden", f"walk up to the {place.name} first")
    paid = await toss_coin(ledger, conn.user_id, info, place, idempotency_key or "")
    if not paid["replayed"]:
        await realtime.to_user(conn.user_id, "wallet:update", toss_update(paid))
    return {"thing": place.name, "transaction_id": paid["transaction_id"], "balance": paid["balance"],
            "amount": paid["amount"], "replayed": paid["replayed"]}
