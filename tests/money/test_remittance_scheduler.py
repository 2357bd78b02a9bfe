"""The daily remittance run: after the settings' Tehran hour, on working days, once per day whatever the number of
processes; and the supervisor starts it beside the ledger workers."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, timedelta

from gateway import cli
from kernel.postal.timeutil import IRAN_TIME
from kernel.settings import Config, MoneySettings
from money import payouts, scheduler
from tests.money.remit_flow import count


def _working_day_after(d: date) -> date:
    while not payouts.working_day(d):
        d += timedelta(days=1)
    return d


async def test_the_scheduled_run_happens_once_a_day_after_its_hour(pool, redis) -> None:
    day = _working_day_after(payouts.today() + timedelta(days=40))
    payees = payouts.store_payees(redis)
    early = datetime.combine(day, datetime.min.time(), IRAN_TIME).replace(hour=8, minute=59)
    assert await scheduler.tick(pool, payees, 9, early) is None
    due = early.replace(hour=9, minute=1)
    results = await asyncio.gather(*(scheduler.tick(pool, payees, 9, due) for _ in range(4)))  # four processes
    assert sum(1 for r in results if not r.get("skipped")) == 1
    assert {r["run_id"] for r in results} == {results[0]["run_id"]}
    assert await count(pool, "SELECT count(*) FROM remittance_runs WHERE made_by = 'scheduler'") == 1
    friday = day + timedelta(days=(4 - day.weekday()) % 7)
    assert await scheduler.tick(pool, payees, 9, datetime.combine(friday, datetime.min.time(), IRAN_TIME)
                                .replace(hour=12)) is None
    # A run by hand the same day does not stop the scheduled one, nor the other way round.
    await payouts.run(pool, payees, day + timedelta(days=1), made_by="operator")
    nxt = await scheduler.tick(pool, payees, 9, due + timedelta(days=1))
    assert nxt is None or not nxt.get("skipped")


def test_the_hour_is_a_setting_and_the_supervisor_runs_the_scheduler(store_url) -> None:
    assert MoneySettings.from_env({}).remittance_hour == 9
    assert MoneySettings.from_env({"BARID_REMITTANCE_HOUR": "14"}).remittance_hour == 14
    assert MoneySettings.from_env({"BARID_REMITTANCE_HOUR": "off"}).remittance_hour is None
    config = replace(Config(), database_dsn="postgresql://x/y")
    roles = {r.name: r for r in cli._roles(config, store_url, 0, 0, 1)}
    assert roles["remittances"].count == 1 and roles["remittances"].args[2] == 9
    off = replace(config, money=MoneySettings(remittance_hour=None))
    assert "remittances" not in {r.name for r in cli._roles(off, store_url, 0, 0, 1)}
