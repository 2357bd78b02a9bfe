"""Summary figures and the results page come from Locust's CSVs and the receiver's records."""

from __future__ import annotations

from pathlib import Path

import orjson

from loadtests import report

STATS = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,\
Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
POST,/v1/scans,700,0,4,5,1,40,80,70.0,0.0,4,5,6,7,9,12,20,30,40,40,40
POST,/v1/shipments,200,2,6,7,2,60,900,20.0,0.2,6,7,8,9,12,15,30,45,60,60,60
,Aggregated,900,2,5,6,1,60,260,90.0,0.2,5,6,7,8,10,13,25,35,60,60,60
"""
HISTORY = """Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,\
Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,\
Total Max Response Time,Total Average Content Size
1700000000,10,,Aggregated,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0,0,0,0
1700000001,10,POST,/v1/scans,70.0,0.0,4,5,6,7,9,12,20,30,40,40,40,70,0,4,5,1,40,80
1700000001,10,,Aggregated,90.0,0.2,5,6,7,8,10,13,25,35,60,60,60,90,2,5,6,1,60,260
1700000002,10,,Aggregated,95.0,0.0,5,6,7,8,10,13,25,33,60,60,60,185,2,5,6,1,60,260
"""
FAILURES = """Method,Name,Error,Occurrences
POST,/v1/shipments,LocustBadStatusCode(code=503),2
"""


def test_figures_and_page(tmp_path: Path) -> None:
    (tmp_path / "locust_stats.csv").write_text(STATS)
    (tmp_path / "locust_stats_history.csv").write_text(HISTORY)
    (tmp_path / "locust_failures.csv").write_text(FAILURES)
    lf = report.locust_figures(tmp_path / "locust")
    assert lf["total"]["requests_per_s"] == 90.0 and lf["total"]["p99_ms"] == 35.0
    assert [e["name"] for e in lf["endpoints"]] == ["/v1/scans", "/v1/shipments"]
    assert lf["errors"] == {"POST /v1/shipments: LocustBadStatusCode(code=503)": 2}
    assert [(h["t"], h["rps"]) for h in lf["history"]] == [(0, 0.0), (1, 90.0), (2, 95.0)]

    events = {f"evt_{i}": ["accepted" if i % 2 else "booked", "EP1", 1_000_000.0 + i * 100 + 20, 1_000_000.0 + i * 100]
              for i in range(100)}
    wh = report.webhook_figures(events)
    assert wh["e2e_ms"] == {"p50": 20.0, "p95": 20.0, "p99": 20.0, "max": 20.0, "count": 50}
    assert sum(n for _, n in wh["per_second"]) == 100

    summary = {"consistent": True, "consistency_line": "CONSISTENT: ...", "requests_per_s": 90.0, "p99_ms": 35.0,
               "errors": 2, "webhooks_expected": 100, "webhooks_received": 100, "e2e_ms": wh["e2e_ms"],
               "bookings_per_s": 5000, "ceiling_per_s": 9000, "ceiling": {"ratio": 0.55}, "command": "python -m x",
               "duration_s": 2, "config": {"workers": 2, "dispatchers": 1, "processes": 2, "users": 10},
               "endpoints": lf["endpoints"], "errors_by_kind": lf["errors"], "cpu": {}, "memory": {}}
    samples = [{"t": t, "gateway": {"cpu": 50.0 + t, "max_cpu": 30.0, "rss_mb": 100.0}} for t in range(3)]
    report.write(tmp_path, summary, lf["history"], wh["per_second"], samples)
    assert orjson.loads((tmp_path / "summary.json").read_bytes())["p99_ms"] == 35.0
    page = (tmp_path / "report.html").read_text()
    assert page.count("<svg") == 4 and "Throughput" in page and "CONSISTENT" in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
