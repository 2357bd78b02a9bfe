"""One short real run of ``python -m loadtests run`` on the embedded system: it ends consistent, with reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"consistent", "requests_per_s", "p99_ms", "errors", "bookings_per_s", "ceiling_per_s", "webhooks_expected",
        "webhooks_received"}


def test_short_run_is_consistent_and_reported(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "loadtests", "run", "--duration", "12", "--rate", "60", "--processes", "2",
           "--workers", "1", "--shops", "2", "--seed-parcels", "20", "--ceiling-seconds", "0", "--out", str(tmp_path)]
    # From outside the checkout, without PYTHONPATH: as from an installed copy, which has no bench/.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=75, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    assert KEYS <= set(summary)
    assert summary["consistent"] and summary["errors"] == 0
    assert summary["webhooks_received"] == summary["webhooks_expected"] > 40  # seeded bookings + the run's events
    assert summary["consistency"]["scans_acked"] > 0 and summary["mixed"]["parcels_booked_per_s"] > 0
    assert {e["name"].split(" ")[0] for e in summary["endpoints"]} >= {"/v1/scans", "/v1/shipments", "/v1/track/[tn]"}
    assert summary["memory"]["start"]["store_rss_mb"] > 0 and summary["cpu"]["locust"]["cpu_mean"] > 0
    assert summary["config"]["store_malloc"] in ("jemalloc", "libc")
    assert proc.stdout.splitlines()[-1].startswith("report:")
    for name in ("report.html", "locust.html", "locust_stats.csv", "locust_stats_history.csv"):
        assert (tmp_path / name).stat().st_size > 0
