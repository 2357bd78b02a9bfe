"""Stopping a background task of a gateway process at shutdown."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_task(task: asyncio.Task, *, timeout_s: float = 10.0, every_s: float = 0.1) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling again while it runs.

    One cancel is not always enough: a cancellation that lands as an awaited store read completes can be lost
    inside ``asyncio.wait_for`` (Python 3.11), and a worker loop then carries on for ever, so shutdown would wait
    for ever too. Repeating the cancel until the task is done, within a bound, ends it either way.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not task.done() and loop.time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=every_s)
    if task.done():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()
