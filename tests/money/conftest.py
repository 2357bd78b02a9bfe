"""Money fixtures: the real gateway app, parcels moved by real staff scans, a migrated database on the real
PostgreSQL, and ledger workers on the real store."""

from __future__ import annotations

import hashlib
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from gateway.web_app import create_app
from kernel.settings import Config
from kernel.store import keys
from money.migrate import migrate
from money.worker import LedgerWorker, ensure_groups
from tests.routing.office_flow import TEHRAN, Staff, book, isfahan, to_office

OFFICE = "IFN-01"
_ids = itertools.count()
_last = [0.0]


def device_time() -> str:
    """Now, but always after the previous scan (each scan of a test is the newest, as on a real device)."""
    t = _last[0] = max(time.time(), _last[0] + 0.01)
    return datetime.fromtimestamp(t, UTC).astimezone(TEHRAN).isoformat(timespec="milliseconds")


async def scan(client, staff: Staff, tn: str, event: str, office: str, **fields: Any) -> Any:
    body = {"tracking_number": tn, "event": event, "office": office, "scan_id": f"money-{next(_ids)}",
            "occurred_at": device_time(), **fields}
    if event == "delivered":
        body.setdefault("receiver_name", "مریم احمدی")
    resp = await client.post("/v1/scans", json=body, headers=await staff(office))
    assert resp.status in (200, 201), await resp.text()
    return await resp.json()


@pytest.fixture
async def client(aiohttp_client, store_url: str, tmp_path):
    return await aiohttp_client(create_app(Config(data_dir=tmp_path, access_log=False), store_url))


@pytest.fixture
def staff(redis) -> Staff:
    return Staff(redis)


@pytest.fixture
async def pool(pg_dsn: str):
    pool = await asyncpg.create_pool(pg_dsn, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield pool
    await pool.close()


@pytest.fixture
async def group(redis):
    """A consumer group of this test's own, from now on (the session's store holds other tests' events), gone
    afterwards (a group left behind would hold the outbox back from trimming)."""
    name = f"ledger-test-{time.time_ns()}"
    await ensure_groups(redis, name, "$")
    yield name
    pipe = redis.pipeline(transaction=False)
    for p in range(keys.PARTITIONS):
        pipe.xgroup_destroy(keys.partition_events(p), name)
    await pipe.execute()


@pytest.fixture
async def worker(redis, pool, group) -> LedgerWorker:
    return LedgerWorker(redis, pool, f"test-{time.time_ns()}", group=group)


@pytest.fixture
def delivered(client, shop, staff):
    """Book parcels to Isfahan (``bodies``) and deliver them at IFN-01; their booking documents."""
    async def make(n: int = 1, owner=None, **overrides: Any) -> list[dict]:
        docs = await book(client, owner or shop, [isfahan(i, **overrides) for i in range(n)])
        for d in docs:
            for event, office in to_office(d):
                await scan(client, staff, d["tracking_number"], event, office)
            await scan(client, staff, d["tracking_number"], "out_for_delivery", OFFICE)
            await scan(client, staff, d["tracking_number"], "delivered", OFFICE)
        return docs

    return make


__all__ = ["OFFICE", "book", "isfahan", "scan", "timedelta"]


OPERATOR = "op_money-tests"  # an operator's token, accepted by the ``mclient`` app
OP = {"Authorization": f"Bearer {OPERATOR}"}


@pytest.fixture
async def mclient(aiohttp_client, store_url, tmp_path, pg_dsn, pool):
    """The whole gateway app on the ledger's database (migrated by ``pool``), with an operator token."""
    config = Config(data_dir=tmp_path, access_log=False, database_dsn=pg_dsn,
                    operator_token_sha256=frozenset({hashlib.sha256(OPERATOR.encode()).hexdigest()}))
    return await aiohttp_client(create_app(config, store_url))


@pytest.fixture
async def db(pg_dsn: str):
    """One connection to the migrated ledger database."""
    conn = await asyncpg.connect(pg_dsn)
    await migrate(conn)
    yield conn
    await conn.close()
