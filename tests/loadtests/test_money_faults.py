"""A short real fault run: every ledger worker and PostgreSQL are killed with -9 under load, and the books still
hold exactly what the system acknowledged, remittances included (``python -m loadtests run --faults money``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]


def test_money_fault_run_keeps_the_books_exact(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "loadtests", "run", "--duration", "24", "--rate", "60", "--processes", "1",
           "--workers", "1", "--shops", "2", "--seed-parcels", "40", "--ceiling-seconds", "0", "--faults", "money",
           "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=85)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    money = summary["money"]
    assert summary["consistent"] and money["checked"] and money["consistent"], money
    # both faults happened mid-load, and the books then hold real money
    assert [f.split(" ", 1)[1].split(":")[0] for f in summary["faults"]] == [
        "kill -9 every ledger worker", "kill -9 PostgreSQL and start it again (WAL replay)"], summary["faults"]
    assert money["cod_acked"] > 0 and money["collected"] == money["remitted"] + money["due"] + money["held"] > 0
    # the operator's remittance run mid-load, after both faults: some remittances paid, the rest sent
    run = money["remittance_run"]
    assert run["remittances"] > 0 and run["sent"] == run["remittances"] and run["paid"] > 0, run
    assert money["remitted"] > 0 and money["due"] > 0  # collections went on after the run
    assert money["cod_missing"] == money["posted_twice"] == money["unbalanced"] == money["shops_off"] == 0
    lag = summary["ledger_lag"]
    assert lag["samples"] > 0 and lag["max_s"] >= lag["p99_s"] >= lag["p50_s"] >= 0
    assert "money CONSISTENT" in proc.stdout and "ledger lag" in proc.stdout


def test_fault_scenarios_that_cannot_run_are_refused_before_anything_starts(tmp_path: Path) -> None:
    for flags, said in ((["--faults", "money,bogus"], "unknown fault scenario(s) bogus"),
                        (["--faults", "money", "--ledgers", "0"], "--faults money needs the system started here")):
        proc = subprocess.run([sys.executable, "-m", "loadtests", "run", "--ceiling-seconds", "0", "--out",
                               str(tmp_path), *flags], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and said in proc.stderr, proc.stderr
        assert not (tmp_path / "summary.json").exists()
