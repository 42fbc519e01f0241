"""Run by test_crash.py: transfers among the given wallets until killed, printing
`SEND key from to amount` before each request and `ACK key transaction_id` after it commits."""

import asyncio
import random
import sys
import uuid


async def main(url: str, ids: list[str]) -> None:
    from server.db import Database
    from server.economy.ledger import Ledger

    ledger = Ledger(Database(url, pool_size=1), starting_grant=1000, pool_size=4)
    await ledger.start()
    out = sys.stdout

    async def task(i: int) -> None:
        rng = random.Random(i)
        while True:
            a, b = rng.sample(ids, 2)
            amount, k = rng.randint(1, 5), str(uuid.uuid4())
            out.write(f"SEND {k} {a} {b} {amount}\n")
            out.flush()
            t = await ledger.transfer(a, b, amount, idempotency_key=k)
            out.write(f"ACK {k} {t.transaction_id}\n")
            out.flush()

    out.write("READY\n")
    out.flush()
    await asyncio.gather(*[task(i) for i in range(4)])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
