"""The one background helper: a failed spawn or periodic run is logged as "<owner>: <what> failed"
and the periodic job goes on; drain waits for work in flight; stop ends the loops."""

import asyncio
import logging

from server.background import Background


async def test_failures_are_logged_once_each_and_the_job_goes_on(caplog):
    bg = Background("toy")
    runs = 0
    third = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            third.set()
        if runs == 1:
            raise RuntimeError("first run breaks")

    async def broken() -> None:
        raise ValueError("spawned work breaks")

    with caplog.at_level(logging.ERROR, logger="server.background"):
        bg.every(0.01, flaky, "flaky job")
        await asyncio.wait_for(third.wait(), 5)
        task = bg.spawn(broken(), "broken work")
        await asyncio.gather(task, return_exceptions=True)
        await bg.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["toy: flaky job failed", "toy: broken work failed"]
    assert caplog.records[1].exc_info[0] is ValueError


async def test_drain_waits_for_work_in_flight():
    bg = Background("toy")
    release = asyncio.Event()
    done: list[str] = []

    async def save() -> None:
        await release.wait()
        done.append("saved")

    bg.spawn(save(), "saving")
    assert len(bg) == 1
    drained = asyncio.create_task(bg.drain(5))
    await asyncio.sleep(0)  # let drain start waiting
    assert not drained.done()
    release.set()
    await drained
    assert done == ["saved"] and len(bg) == 0
