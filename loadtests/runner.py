"""``python -m loadtests run``: one load test from start to verdict.

1. Start the system here (store, gateway workers, dispatchers) in a temporary directory, or use ``--target``;
   measure the hello-world ceiling and bookings alone with wrk (same machine, workers and run) while it idles.
2. Seed shops, staff, webhook endpoints (at the loopback receiver) and a pool of parcels; where there is a
   ledger, wait until it has posted what the seeding and the ceiling's bookings left, so its lag is the load's.
3. Run Locust headless with several worker processes; a monitor samples CPU and memory of every part, and the
   ledger's lag every second; with ``--fault`` a gateway worker and a dispatcher are killed with SIGKILL and the
   store is killed and restarted (AOF on) during the run; with ``--faults money`` every ledger worker is killed
   with SIGKILL and PostgreSQL is killed with SIGKILL and started again.
4. Wait until every webhook delivery has settled and the ledger has drained, then run the consistency check
   and, where there is a ledger, the money check (``loadtests.money_check``).
5. Write Locust's CSV/HTML, summary.json and report.html; exit 1 unless consistent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import redis

from . import ceiling, ledger_lag, money_check, remit, report
from .config import LoadConfig
from .consistency import check, load_acks, wait_drained
from .monitor import Monitor, tree
from .seed import seed
from .system import ROOT, System
from .wrk import free_port, wait_port

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _post(url: str) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=120) as resp:
        return orjson.loads(resp.read())


def _timeline(duration_s: int, log: list[str], t0: float):
    """``at(frac)`` sleeps until that fraction of the run; ``note(text)`` logs it with the run's time."""
    def at(frac: float) -> None:
        time.sleep(max(0.0, t0 + frac * duration_s - time.monotonic()))

    def note(text: str) -> None:
        log.append(f"t={time.monotonic() - t0:.0f}s {text}")

    return at, note


def _faults(system: System, duration_s: int, log: list[str], t0: float) -> None:
    """kill -9 a gateway worker at 30 % of the run, a dispatcher at 45 %, restart the store at 60 %."""
    at, note = _timeline(duration_s, log, t0)
    at(0.30)
    note(f"kill -9 gateway worker pid {system.kill('gateway')}")
    at(0.45)
    note(f"kill -9 dispatcher pid {system.kill('dispatcher')}")
    at(0.60)
    down = system.restart_store()
    note(f"kill -9 store and restart (AOF, appendfsync always): down {down:.1f} s")


def _money_faults(system: System, duration_s: int, log: list[str], t0: float) -> None:
    """kill -9 every ledger worker at 35 % of the run (the supervisor starts new ones), kill -9 PostgreSQL at
    55 % and start it again (it replays its WAL)."""
    at, note = _timeline(duration_s, log, t0)
    at(0.35)
    note(f"kill -9 every ledger worker: pids {system.kill_all('ledger')}")
    at(0.55)
    down = system.restart_postgres()
    note(f"kill -9 PostgreSQL and start it again (WAL replay): down {down:.1f} s")


def _remit(system: System, at_s: float, t0: float, out: dict[str, Any]) -> None:
    """The operator's remittance run mid-load (loadtests.remit), tried again for up to 30 s after a failure
    (PostgreSQL may still be coming back in a fault run)."""
    time.sleep(max(0.0, t0 + at_s - time.monotonic()))
    deadline = time.monotonic() + 30
    while True:
        try:
            out.update(remit.settle(system.dsn, system.redis_url), at_s=round(time.monotonic() - t0, 1))
            out.pop("error", None)
            return
        except Exception as exc:  # noqa: BLE001 - reported in the summary and failing the run, not raised in a thread
            out["error"] = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                return
            time.sleep(1)


def _locust(cfg: LoadConfig, base: str, seed_path: Path, ack_dir: Path) -> subprocess.Popen:
    env = {**os.environ, **cfg.to_env(), "BARID_LT_SEED": str(seed_path), "BARID_LT_ACKS": str(ack_dir),
           "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
           "-u", str(cfg.users), "-r", str(max(1, cfg.users // 5)), "-t", f"{cfg.duration_s}s",
           "--csv", str(cfg.out_dir / "locust"), "--csv-full-history", "--html", str(cfg.out_dir / "locust.html"),
           "--stop-timeout", "10", "--only-summary", "--loglevel", "WARNING"]
    if cfg.processes > 1:
        cmd += ["--processes", str(cfg.processes)]
    log = open(cfg.out_dir / "locust.log", "wb")
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def missing_tools(cfg: LoadConfig) -> list[str]:
    """What this run needs and does not have, each with the command that installs it."""
    missing = []
    # Run Locust as the run will (it is never imported here: it monkey-patches the process with gevent).
    probe = subprocess.run([sys.executable, "-m", "locust", "--version"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing.append("Locust is not installed (or does not start): pip install 'locust>=2.30' "
                       "(in a checkout, python3 dev.py test installs it)")
    if cfg.ceiling_s and not shutil.which("wrk"):
        missing.append(ceiling.WRK_MISSING)
    unknown = cfg.fault_kinds() - {"system", "money"}
    if unknown:
        missing.append(f"unknown fault scenario(s) {', '.join(sorted(unknown))}: --faults takes system, money")
    if "money" in cfg.fault_kinds() and (cfg.target or not cfg.ledgers or cfg.database_url):
        missing.append("--faults money needs the system started here with its embedded PostgreSQL and ledger "
                       "workers (no --target, --ledgers 1 or more, no --database-url)")
    return missing


def run(cfg: LoadConfig, command: str) -> int:
    missing = missing_tools(cfg)
    if missing:  # a run without its tools would report zero requests as if all were well
        print("\n".join(f"python -m loadtests: {m}" for m in missing), file=sys.stderr)
        return 2
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="barid-lt-"))
    summary: dict[str, Any] = {"consistent": False}
    try:
        system = None
        dsn = None
        if cfg.target:
            base, redis_url = cfg.target.rstrip("/"), cfg.redis_url or os.environ.get("REDIS_URL", "")
            if not redis_url:
                raise SystemExit("--target needs --redis-url (or REDIS_URL): seeding and the consistency check "
                                 "read the target's store")
            dsn = cfg.database_url or os.environ.get("DATABASE_URL")
        else:
            system = System(tmp / "system", cfg.workers, cfg.dispatchers, cfg.ledgers, cfg.database_url,
                            int(cfg.ledger_claim_idle_s * 1000))
            print(f"starting the system: {cfg.workers} gateway workers, {cfg.dispatchers} dispatcher(s), "
                  f"{cfg.ledgers} ledger worker(s)", flush=True)
            system.start()
            base, redis_url, dsn = system.url, system.redis_url, system.dsn
        receiver = None
        try:
            ceil = {}
            if cfg.ceiling_s:  # first, while the system is idle: the same machine, workers and run
                print("measuring the hello-world ceiling and bookings alone with wrk", flush=True)
                ceil = ceiling.measure(base, redis_url, cfg.workers, cfg.ceiling_s)
            port = free_port()
            ack_dir = tmp / "acks"
            ack_dir.mkdir()
            print(f"seeding {cfg.shops} shops x {cfg.seed_parcels} parcels, staff, webhooks", flush=True)
            data = seed(base, redis_url, f"http://127.0.0.1:{port}", shops=cfg.shops, parcels=cfg.seed_parcels,
                        path=tmp / "seed.json")
            (ack_dir / "seed.jsonl").write_bytes(b"".join(
                orjson.dumps({"k": "book", "tn": p["doc"]["tracking_number"], "shop": p["shop"]}) + b"\n"
                for p in data["pool"]))
            receiver = subprocess.Popen([sys.executable, "-m", "loadtests.receiver", str(port), str(tmp / "seed.json"),
                                         str(tmp / "webhooks.json")], cwd=ROOT, env={**os.environ,
                                                                                      "PYTHONPATH": str(ROOT)})
            wait_port(port)
            mem_start = system.memory() if system else {}
            groups: dict[str, Any] = {"receiver": lambda: [receiver.pid]}
            if system:
                groups |= {"gateway": lambda: system.pids("gateway"), "dispatchers": lambda: system.pids("dispatcher"),
                           "store": lambda: [system.store.pid] if system.store.pid else []}
                if system.ledgers:
                    groups["ledgers"] = lambda: system.pids("ledger")
            caught_up_s = 0.0
            if dsn:  # the lag measures the load, not the backlog the seed and the ceiling's bookings left
                with redis.Redis.from_url(redis_url) as r0:
                    caught_up_s, _ = ledger_lag.wait_drained(r0, cfg.ledger_drain_s)
                print(f"the ledger caught up with the events before the load in {caught_up_s:.0f} s", flush=True)
            print(f"load: {cfg.rate:.0f} requests/s offered by {cfg.users} users in {cfg.processes} Locust "
                  f"processes for {cfg.duration_s} s"
                  f"{' with faults: ' + ', '.join(sorted(cfg.fault_kinds())) if cfg.fault_kinds() else ''}", flush=True)
            t0 = time.monotonic()
            locust = _locust(cfg, base, tmp / "seed.json", ack_dir)
            groups["locust"] = lambda: tree(locust.pid)
            monitor = Monitor(groups)
            monitor.start()
            lag = ledger_lag.LagSampler(redis_url)
            lag.start()
            faults: list[str] = []
            if "system" in cfg.fault_kinds() and system:
                threading.Thread(target=_faults, args=(system, cfg.duration_s, faults, t0), daemon=True).start()
            if "money" in cfg.fault_kinds() and system:
                threading.Thread(target=_money_faults, args=(system, cfg.duration_s, faults, t0),
                                 daemon=True).start()
            remitted: dict[str, Any] = {}
            remitter = None
            if system and system.ledgers and cfg.remit_at:
                remitter = threading.Thread(target=_remit, args=(system, cfg.remit_at * cfg.duration_s, t0, remitted),
                                            daemon=True)
                remitter.start()
            locust.wait()
            load_s = time.monotonic() - t0
            if remitter is not None:
                remitter.join(120)
            lag.stop()
            r = redis.Redis.from_url(redis_url)
            drain_s = wait_drained(r, cfg.drain_s)
            ledger_drain_s, left = ledger_lag.wait_drained(r, cfg.ledger_drain_s) if dsn else (0.0, None)
            r.close()
            mem_end = system.memory() if system else {}
            monitor.stop()
            def fetch_received() -> dict[str, Any]:
                _post(f"http://127.0.0.1:{port}/dump")
                return orjson.loads((tmp / "webhooks.json").read_bytes())

            verdict = check(redis_url, ack_dir, fetch_received, {s["id"] for s in data["shops"]})
            if dsn and left is not None:
                money = money_check.check(
                    dsn, load_acks(ack_dir), left.waiting == 0,
                    f"{left.waiting} outbox entries still pending or unread by the ledger group after "
                    f"{ledger_drain_s:.0f} s, the oldest {left.age_s:.0f} s old")
            else:
                money = money_check.not_checked("no ledger (no --ledgers here; with --target, no DATABASE_URL)")
            if remitted:
                money["remittance_run"] = remitted
                if "run_id" not in remitted:
                    money = {**money, "consistent": False, "line": money["line"] + f"; the remittance run mid-load "
                             f"failed: {remitted.get('error')}"}
            verdict = {**verdict, "money": money, "consistent": verdict["consistent"] and money["consistent"],
                       "line": verdict["line"] + "\n" + money["line"]}
            received = orjson.loads((tmp / "webhooks.json").read_bytes())
            summary = _summary(cfg, command, verdict, ceil, received, monitor, mem_start, mem_end, faults,
                               load_s, drain_s)
            summary["ledger_lag"] = {**lag.summary(), "drain_s": ledger_drain_s, "caught_up_before_s": caught_up_s,
                                     "per_second": lag.samples}
            summary["targets"]["ledger_lag_p99_under_2s"] = bool(lag.samples) and lag.summary()["p99_s"] < 2
            summary["money"] = money
            if system is not None:  # which allocator the embedded store ran on (see kernel.store.client)
                summary["config"]["store_malloc"] = (system.store.read_state() or {}).get("malloc")
            report.write(cfg.out_dir, summary, summary.pop("_history"), summary.pop("_webhooks_per_s"),
                         monitor.samples)
        finally:
            if receiver is not None:
                receiver.terminate()
                receiver.wait(10)
            if system is not None:
                system.stop()
    finally:
        if summary["consistent"]:
            shutil.rmtree(tmp, ignore_errors=True)
        else:  # the store's files, the acknowledgements and the webhooks received, for a post-mortem
            print(f"kept the run's files for inspection: {tmp}", file=sys.stderr)
    _print(summary, cfg.out_dir)
    log = cfg.out_dir / "locust.log"
    if summary.get("consistency_line", "").startswith("NOT TESTED") and log.exists():
        print("the end of locust.log:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]),
              file=sys.stderr)
    return 0 if summary["consistent"] else 1


def _summary(cfg: LoadConfig, command: str, verdict: dict, ceil: dict, received: dict, monitor: Monitor,
             mem_start: dict, mem_end: dict, faults: list[str], load_s: float, drain_s: float) -> dict[str, Any]:
    lf = report.locust_figures(cfg.out_dir / "locust")
    wh = report.webhook_figures(received.get("events", {}))
    total = lf["total"] or {"requests_per_s": 0, "p50_ms": 0, "p95_ms": 0, "p99_ms": 0, "failures": 0}
    seeded = cfg.shops * cfg.seed_parcels
    if not lf["total"].get("requests"):  # nothing was offered: nothing was tested, whatever the check says
        verdict = {**verdict, "consistent": False,
                   "line": f"NOT TESTED: Locust made no requests (see {cfg.out_dir / 'locust.log'})"}
    return {
        "consistent": verdict["consistent"], "consistency_line": verdict["line"],
        "requests_per_s": total["requests_per_s"], "p50_ms": total["p50_ms"], "p95_ms": total["p95_ms"],
        "p99_ms": total["p99_ms"], "errors": total["failures"], "errors_by_kind": lf["errors"],
        "bookings_per_s": ceil.get("bookings_per_s"), "ceiling_per_s": ceil.get("hello_per_s"),
        "webhooks_expected": verdict["webhooks_expected"], "webhooks_received": verdict["webhooks_received"],
        "webhook_duplicates": verdict["webhook_duplicates"], "webhooks_dead": verdict["webhooks_dead"],
        "e2e_ms": wh["e2e_ms"],
        "mixed": {"parcels_booked_per_s": round((verdict["bookings_acked"] - seeded) / load_s, 1),
                  "scans_per_s": round(verdict["scans_acked"] / load_s, 1),
                  "webhooks_per_s": round(verdict["webhooks_received"] / (load_s + drain_s), 1)},
        # The targets for this machine, checked (a benchmark verdict, not the exit status).
        "targets": {"p99_under_50ms": total["p99_ms"] < 50, "zero_errors": total["failures"] == 0,
                    "bookings_at_least_half_of_ceiling": bool(ceil.get("ratio")) and ceil["ratio"] >= 0.5},
        "ceiling": ceil, "consistency": verdict, "endpoints": lf["endpoints"],
        "memory": {"start": mem_start, "end": mem_end}, "cpu": monitor.summary(),
        "faults": faults, "drain_s": drain_s, "duration_s": cfg.duration_s, "command": command,
        "config": {"workers": cfg.workers, "dispatchers": cfg.dispatchers, "processes": cfg.processes,
                   "users": cfg.users, "rate": cfg.rate, "target": cfg.target or "embedded",
                   "weights": {"staff": cfg.staff_weight, "shop": cfg.shop_weight, "buyer": cfg.buyer_weight}},
        "_history": lf["history"], "_webhooks_per_s": wh["per_second"],
    }


def _print(s: dict[str, Any], out_dir: Path) -> None:
    c = s["ceiling"]
    lines = [
        s["consistency_line"],
        f"held {s['requests_per_s']:,.0f} requests/s, p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms, "
        f"p99 {s['p99_ms']:.0f} ms, {s['errors']} errors; {s['mixed']['scans_per_s']:,.0f} scans/s, "
        f"{s['mixed']['parcels_booked_per_s']:,.0f} parcels booked/s",
        f"webhooks {s['webhooks_received']:,}/{s['webhooks_expected']:,} (+{s['webhooks_dead']} dead), "
        f"{s['webhook_duplicates']} duplicates, scan-to-webhook p50 {s['e2e_ms']['p50']:.0f} ms "
        f"p99 {s['e2e_ms']['p99']:.0f} ms",
    ]
    if c.get("hello_per_s"):
        lines.append(f"bookings alone {c['bookings_per_s']:,}/s vs hello-world {c['hello_per_s']:,}/s with "
                     f"{c['workers']} workers: {c['ratio']:.0%}")
    if s["memory"]["start"]:
        end = s["memory"]["end"]
        lines.append("RSS start -> end: " + ", ".join(
            f"{k.removesuffix('_rss_mb')} {v} -> {end.get(k)} MiB" for k, v in s["memory"]["start"].items()))
    gen = s["cpu"].get("locust")
    if gen:
        lines.append(f"load generator: {gen['cpu_mean']:.0f} % CPU mean, busiest Locust process peaked at "
                     f"{gen['busiest_process_peak']:.0f} % of a core")
    ll = s.get("ledger_lag") or {}
    if ll.get("samples"):
        lines.append(f"ledger lag (oldest event not yet posted, sampled each second): p50 {ll['p50_s']:.2f} s, "
                     f"p99 {ll['p99_s']:.2f} s, max {ll['max_s']:.2f} s; drained {ll['drain_s']:.1f} s after the load")
    rr = (s.get("money") or {}).get("remittance_run")
    if rr and "run_id" in rr:
        lines.append(f"remittance run at t={rr['at_s']:.0f}s: {rr['remittances']} remittances, {rr['lines']} lines, "
                     f"{rr['total']:,} rials; {rr['sent']} sent, {rr['paid']} paid")
    lines += s["faults"]
    lines.append(f"report: {out_dir / 'report.html'}  summary: {out_dir / 'summary.json'}")
    print("\n".join(lines), flush=True)
