"""The run's figures: Locust's CSVs + the receiver's records + the monitor -> summary.json and report.html.

report.html is one self-contained page (inline SVG, no scripts or external assets): the verdict, the headline
figures, throughput / latency / webhook / CPU / memory over time, and the per-endpoint table.
"""

from __future__ import annotations

import csv
import html
import math
import os
from pathlib import Path
from typing import Any

import orjson

COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563")


def _num(v: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))]


def locust_figures(prefix: Path) -> dict[str, Any]:
    """Per-endpoint and aggregate figures, errors by kind, and the aggregate history over time."""
    endpoints, total = [], {}
    for r in _rows(Path(f"{prefix}_stats.csv")):
        row = {"method": r["Type"], "name": r["Name"], "requests": int(_num(r["Request Count"])),
               "failures": int(_num(r["Failure Count"])), "requests_per_s": round(_num(r["Requests/s"]), 1),
               "p50_ms": _num(r["50%"]), "p95_ms": _num(r["95%"]), "p99_ms": _num(r["99%"]),
               "max_ms": round(_num(r["Max Response Time"]), 1)}
        if r["Name"] == "Aggregated":
            total = row
        else:
            endpoints.append(row)
    errors: dict[str, int] = {}
    for r in _rows(Path(f"{prefix}_failures.csv")):
        kind = f"{r['Method']} {r['Name']}: {r['Error'][:120]}"
        errors[kind] = errors.get(kind, 0) + int(_num(r["Occurrences"]))
    history, t0 = [], None
    for r in _rows(Path(f"{prefix}_stats_history.csv")):
        if r["Name"] != "Aggregated":
            continue
        t = int(_num(r["Timestamp"]))
        t0 = t if t0 is None else t0
        history.append({"t": t - t0, "users": int(_num(r["User Count"])), "rps": _num(r["Requests/s"]),
                        "fps": _num(r["Failures/s"]), "p50": _num(r["50%"]), "p95": _num(r["95%"]),
                        "p99": _num(r["99%"])})
    return {"endpoints": sorted(endpoints, key=lambda e: -e["requests"]), "total": total, "errors": errors,
            "history": history}


def webhook_figures(events: dict[str, list]) -> dict[str, Any]:
    """Scan-to-webhook latency (recorded by the gateway -> verified by the storefront) and arrivals per second."""
    lat = [arr - rec for typ, _, arr, rec in events.values() if typ not in ("booked", "cancelled")]
    arrivals = [arr for _, _, arr, _ in events.values()]
    per_s: dict[int, int] = {}
    if arrivals:
        t0 = min(arrivals)
        for a in arrivals:
            per_s[int((a - t0) / 1000)] = per_s.get(int((a - t0) / 1000), 0) + 1
    return {"e2e_ms": {"p50": round(pct(lat, 50), 1), "p95": round(pct(lat, 95), 1), "p99": round(pct(lat, 99), 1),
                       "max": round(max(lat, default=0), 1), "count": len(lat)},
            "per_second": sorted(per_s.items())}


# -- SVG -----------------------------------------------------------------------------------------------------
def svg_chart(title: str, unit: str, series: dict[str, list[tuple[float, float]]], width: int = 860,
              height: int = 240) -> str:
    """A line chart with axes, grid and legend as an inline SVG string."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return f"<p>{html.escape(title)}: no data</p>"
    left, right, top, bottom = 60, 16, 28, 30
    x_max = max(p[0] for p in pts) or 1
    y_max = max(p[1] for p in pts) * 1.1 or 1
    sx = lambda x: left + (width - left - right) * x / x_max  # noqa: E731
    sy = lambda y: top + (height - top - bottom) * (1 - y / y_max)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11"><text x="{left}" y="16" font-size="13" font-weight="bold">'
           f"{html.escape(title)}</text>"]
    for i in range(5):
        y = y_max * i / 4
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#e5e7eb"/>'
                   f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:,.0f}</text>')
    for i in range(6):
        x = x_max * i / 5
        out.append(f'<text x="{sx(x):.1f}" y="{height - 10}" text-anchor="middle">{x:,.0f} s</text>')
    out.append(f'<text x="12" y="{top + (height - top - bottom) / 2}" transform="rotate(-90 12 '
               f'{top + (height - top - bottom) / 2})" text-anchor="middle">{html.escape(unit)}</text>')
    legend_x = left + 200
    for i, (name, s) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{path}"/>')
        out.append(f'<rect x="{legend_x}" y="7" width="10" height="10" fill="{color}"/>'
                   f'<text x="{legend_x + 14}" y="16">{html.escape(name)}</text>')
        legend_x += 24 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def charts(summary: dict[str, Any], history: list[dict], webhooks_per_s: list, samples: list[dict]) -> list[str]:
    out = [
        svg_chart("Throughput", "requests/s", {
            "requests/s": [(h["t"], h["rps"]) for h in history], "failures/s": [(h["t"], h["fps"]) for h in history],
            "webhooks/s": [(float(t), float(n)) for t, n in webhooks_per_s]}),
        svg_chart("Latency (all requests)", "ms", {
            "p50": [(h["t"], h["p50"]) for h in history], "p95": [(h["t"], h["p95"]) for h in history],
            "p99": [(h["t"], h["p99"]) for h in history]}),
    ]
    lag = (summary.get("ledger_lag") or {}).get("per_second")
    if lag:
        out.append(svg_chart("Ledger lag (oldest event not yet posted)", "s", {
            "age": [(x["t"], x["age_s"]) for x in lag]}))
    if samples:
        groups = [g for g in samples[0] if g != "t"]
        out.append(svg_chart("CPU (100 % = one core)", "%", {
            g: [(s["t"], s[g]["cpu"]) for s in samples if g in s] for g in groups}))
        out.append(svg_chart("Memory (RSS)", "MiB", {
            g: [(s["t"], s[g]["rss_mb"]) for s in samples if g in s] for g in groups}))
    return out


def _table(rows: list[dict], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_html(path: Path, summary: dict[str, Any], chart_svgs: list[str]) -> None:
    ok = summary["consistent"]
    c = summary.get("ceiling") or {}
    cards = [("held", f"{summary['requests_per_s']:,.0f} req/s"), ("p99", f"{summary['p99_ms']:,.0f} ms"),
             ("errors", f"{summary['errors']:,}"),
             ("webhooks", f"{summary['webhooks_received']:,} / {summary['webhooks_expected']:,}"),
             ("scan→webhook p99", f"{summary['e2e_ms']['p99']:,.0f} ms"),
             ("bookings alone", f"{summary['bookings_per_s'] or 0:,} /s"),
             ("hello-world ceiling", f"{summary['ceiling_per_s'] or 0:,} /s"),
             ("bookings / ceiling", f"{c.get('ratio', 0):.0%}")]
    if (summary.get("ledger_lag") or {}).get("samples"):
        cards.append(("ledger lag p99", f"{summary['ledger_lag']['p99_s']:,.1f} s"))
    card_html = "".join(f'<div class="card"><div class="k">{html.escape(k)}</div><div class="v">{html.escape(v)}'
                        f"</div></div>" for k, v in cards)
    mem = summary.get("memory", {})
    mem_rows = [{"part": k, "start MiB": mem.get("start", {}).get(k), "end MiB": mem.get("end", {}).get(k)}
                for k in mem.get("start", {})]
    gen = [{"group": k, **v} for k, v in summary.get("cpu", {}).items()]
    faults = (" Fault scenario: " + html.escape("; ".join(summary["faults"]))) if summary.get("faults") else ""
    errs = [{"error": k, "count": v} for k, v in summary.get("errors_by_kind", {}).items()]
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Barid load test</title>
<style>body{{font-family:sans-serif;margin:24px;color:#111;max-width:900px}}
.verdict{{white-space:pre-line;padding:10px 14px;border-radius:6px;font-weight:bold;color:#fff;background:{'#16a34a' if ok else '#dc2626'}}}
.cards{{display:flex;flex-wrap:wrap;gap:8px;margin:14px 0}}.card{{border:1px solid #ddd;border-radius:6px;
padding:8px 12px;min-width:150px}}.k{{font-size:12px;color:#555}}.v{{font-size:20px;font-weight:bold}}
table{{border-collapse:collapse;font-size:12px;margin:8px 0}}td,th{{border:1px solid #ddd;padding:3px 6px;
text-align:right}}th{{background:#f3f4f6}}code{{background:#f3f4f6;padding:2px 4px}}</style></head><body>
<h1>Barid load test</h1><div class="verdict">{html.escape(summary['consistency_line'])}</div>
<div class="cards">{card_html}</div><p>Command: <code>{html.escape(summary['command'])}</code>;
{summary['duration_s']} s, {summary['config']['workers']} gateway workers, {summary['config']['dispatchers']}
dispatcher(s), {summary['config']['processes']} Locust processes, {summary['config']['users']} users,
{os.cpu_count()} cores, store allocator {html.escape(str(summary['config'].get('store_malloc') or 'not ours'))}.
{faults}</p>{''.join(chart_svgs)}
<h2>Endpoints</h2>{_table(summary['endpoints'], ['method', 'name', 'requests', 'failures', 'requests_per_s',
                                                 'p50_ms', 'p95_ms', 'p99_ms', 'max_ms'])}
<h2>Errors by kind</h2>{_table(errs, ['error', 'count']) if errs else '<p>none</p>'}
<h2>CPU (load generator included)</h2>{_table(gen, ['group', 'cpu_mean', 'cpu_peak', 'busiest_process_peak',
                                                  'rss_first_mb', 'rss_last_mb'])}
<h2>Memory at start and end of the load</h2>{_table(mem_rows, ['part', 'start MiB', 'end MiB'])}
</body></html>"""
    path.write_text(doc, encoding="utf-8")


def write(out_dir: Path, summary: dict[str, Any], history: list[dict], webhooks_per_s: list,
          samples: list[dict]) -> None:
    (out_dir / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    write_html(out_dir / "report.html", summary, charts(summary, history, webhooks_per_s, samples))
