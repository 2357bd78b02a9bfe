"""The scheduled remittance run: once per Tehran working day, after the hour the settings name
(BARID_REMITTANCE_HOUR).

The supervisor runs one such process per machine; several machines (or a restart in the middle of a run) are safe:
the run takes the remittance run's advisory lock, and a run made by ``scheduler`` for the day is found under that
lock and answered instead of running again (``payouts.run(once_per_day=True)``). Runs the operator makes by hand
do not count: they are extra runs, and idempotent anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from kernel.postal.timeutil import IRAN_TIME

from . import payouts

log = logging.getLogger("barid.money.scheduler")

MADE_BY = "scheduler"
CHECK_EVERY_S = 60.0  # how often the process looks at the clock: a run starts within this of the hour


async def tick(pool: asyncpg.Pool, payees: payouts.Payees, hour: int, now: datetime) -> dict[str, Any] | None:
    """The day's scheduled run when it is due at ``now`` (Tehran), else None."""
    local = now.astimezone(IRAN_TIME)
    if local.hour < hour or not payouts.working_day(local.date()):
        return None
    return await payouts.run(pool, payees, local.date(), made_by=MADE_BY, once_per_day=True)


async def serve_async(redis_url: str, dsn: str, hour: int, cluster: bool = False,
                      clock: Callable[[], datetime] = lambda: datetime.now(IRAN_TIME)) -> None:
    from kernel.store.client import async_client

    from .migrate import migrate_dsn

    redis = async_client(redis_url, cluster=cluster)
    pool = None
    done_for = None
    try:
        while True:
            now = clock()
            try:
                if done_for != now.astimezone(IRAN_TIME).date():
                    if pool is None:
                        await migrate_dsn(dsn)
                        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
                    result = await tick(pool, payouts.store_payees(redis), hour, now)
                    if result is not None:
                        done_for = now.astimezone(IRAN_TIME).date()
                        if not result.get("skipped"):
                            log.info("remittance run %s for %s: %s remittances, %s rials", result["run_id"],
                                     result["as_of"], result["remittances"], result["total"])
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("scheduled remittance run not made (%s: %s); retrying", type(exc).__name__, exc)
            except Exception:  # a store error, a bad shop record: logged, tried again at the next check
                log.exception("scheduled remittance run failed; retrying")
            await asyncio.sleep(CHECK_EVERY_S)
    finally:
        if pool is not None:
            await pool.close()
        await redis.aclose()


def serve(redis_url: str, dsn: str, hour: int, cluster: bool = False) -> None:
    """The scheduler process (uvloop) until SIGTERM."""
    import uvloop

    try:
        uvloop.run(serve_async(redis_url, dsn, hour, cluster))
    except KeyboardInterrupt:
        pass
