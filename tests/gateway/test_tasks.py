"""Shutdown ends a background worker even when one cancellation is lost."""

from __future__ import annotations

import asyncio

from kernel.tasks import stop_task


async def test_a_worker_that_loses_a_cancellation_is_still_stopped():
    swallowed = []

    async def worker() -> None:
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if not swallowed:  # as a cancel lost inside wait_for: the loop carries on
                    swallowed.append(True)
                    continue
                raise

    task = asyncio.get_running_loop().create_task(worker())
    await asyncio.sleep(0.02)
    await asyncio.wait_for(stop_task(task, every_s=0.05), 2)
    assert task.done() and task.cancelled() and swallowed
