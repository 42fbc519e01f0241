"""The realtime facade on one node: control messages reach the handlers of their op only (this
node included), a failing handler does not keep the others from the message, leases are local."""

import socketio

from server.realtime.facade import Realtime
from server.realtime.hub import Hub


def one_node() -> Realtime:
    sio = socketio.AsyncServer(async_mode="aiohttp")
    return Realtime(sio, Hub(sio), "node-a")


async def test_control_messages_reach_the_handlers_of_their_op():
    rt = one_node()
    seen: list[tuple[str, dict]] = []

    async def broken(msg: dict) -> None:
        raise RuntimeError("a bug in one handler")

    async def kick(msg: dict) -> None:
        seen.append(("kick", msg))

    async def reload(msg: dict) -> None:
        seen.append(("reload", msg))

    rt.handle("kick", broken)
    rt.handle("kick", kick)
    rt.handle("reload", reload)
    await rt.control({"op": "kick", "user_id": "u1"})
    await rt.control({"op": "nobody-handles-this"})
    assert [(name, m["op"], m["n"]) for name, m in seen] == [("kick", "kick", "node-a")]


async def test_one_node_runs_everything():
    rt = one_node()
    assert not rt.shared
    leases = rt.leases("resident")
    assert await leases.hold(["a", "b"], 10.0) == {"a", "b"} and await leases.owner("a") is None
