"""``python -m gateway remittances ...`` as an operator runs it, against the test's PostgreSQL and store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from money import pain001
from tests.money.remit_flow import FAR, collected

ROOT = Path(__file__).resolve().parents[2]


def gateway(dsn: str, store_url: str, *args: str) -> tuple[int, object]:
    env = {**os.environ, "DATABASE_URL": dsn, "REDIS_URL": store_url}
    out = subprocess.run([sys.executable, "-m", "gateway", "remittances", *args], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout, out.stderr
    return out.returncode, json.loads(out.stdout)


async def test_run_export_mark_paid_and_list_from_the_command_line(client, shop, staff, worker, pool, delivered,
                                                                   pg_dsn, store_url, tmp_path) -> None:
    docs = await collected(delivered, client, staff, 2)
    await worker.drain()
    code, run = gateway(pg_dsn, store_url, "run", "--as-of", FAR.isoformat())
    assert code == 0 and run["remittances"] == 1 and run["lines"] == 2, run
    out = tmp_path / "batch.xml"
    code, done = gateway(pg_dsn, store_url, "export", "--run", str(run["run_id"]), "--format", "pain001",
                         "--out", str(out))
    assert code == 0 and done["remittances"] == 1 and done["sent_now"]
    pain001.validate(out.read_bytes())
    code, (rem,) = gateway(pg_dsn, store_url, "list", "--shop", str(shop.id))
    assert rem["status"] == "sent" and rem["total"] == sum(d["payment"]["goods_value"] - d["price"]["total"]
                                                           for d in docs)
    code, paid = gateway(pg_dsn, store_url, "mark-paid", "--remittance", rem["remittance_id"], "--bank-ref", "B-77")
    assert code == 0 and paid["status"] == "paid" and paid["event_id"] and paid["posting_id"]
    code, refused = gateway(pg_dsn, store_url, "mark-failed", "--remittance", rem["remittance_id"], "--reason", "x")
    assert code == 1 and refused["code"] == "remittance_transition_invalid" and refused["detail_fa"]
    code, empty = gateway(pg_dsn, store_url, "export", "--run", "424242", "--format", "csv", "--out",
                          str(tmp_path / "none.csv"))
    assert code == 1 and empty["code"] == "remittance_run_not_found"
