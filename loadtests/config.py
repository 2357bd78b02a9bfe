"""Load-test settings: one dataclass, built from ``BARID_LT_*`` environment variables, then CLI flags on top.

The Locust workers read the same dataclass from the environment the runner hands them, so the runner's view
and the workers' view of rates and weights cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class LoadConfig:
    duration_s: int = 180
    target: str | None = None  # a running gateway; None = start the whole system here
    redis_url: str | None = None  # the target's store, for seeding and the consistency check
    out_dir: Path = Path("loadtest-out")
    # Offered load: total requests/s the Locust users aim at (constant throughput per user).
    rate: float = 600.0
    per_user_rate: float = 4.0
    # Share of users (and so of requests) per class; the mix is 70 % scans, 20 % bookings, 10 % reads.
    staff_weight: int = 70
    shop_weight: int = 20
    buyer_weight: int = 10
    processes: int = 2  # Locust worker processes (one FastHttpUser process tops out near 4,400 requests/s)
    # The system this command starts.
    workers: int = 2
    dispatchers: int = 1
    shops: int = 8
    seed_parcels: int = 200  # parcels per shop booked before the run, so staff have work from the first second
    fault: bool = False
    # Fault scenarios, comma-separated: "system" (= --fault), "money" (kill -9 every ledger worker, kill -9 and
    # restart PostgreSQL).
    faults: str = ""
    # Ledger workers of the system this command starts (0: no PostgreSQL, no money check).
    ledgers: int = 1
    # The ledger's PostgreSQL: with --target, the target's (else DATABASE_URL); for the system started here,
    # an external server instead of the embedded one.
    database_url: str | None = None
    ledger_drain_s: float = 120.0  # longest wait after the load for the ledger group to have nothing left
    # A killed ledger worker's entries are reclaimed after this (the production default is longer).
    ledger_claim_idle_s: float = 10.0
    # A remittance run (paid in part) at this fraction of the load, on the system started here; 0: none.
    remit_at: float = 0.75
    ceiling_s: int = 10  # seconds per wrk phase of the ceiling measurement; 0 skips it
    drain_s: float = 120.0  # longest wait after the load for in-flight webhooks to land

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> LoadConfig:
        env = os.environ if env is None else env
        kw: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("BARID_LT_" + f.name.upper())
            if raw is None or raw == "":
                continue
            default = getattr(cls, f.name)
            if isinstance(default, bool):
                kw[f.name] = raw.lower() in ("1", "true", "yes")
            elif isinstance(default, int):
                kw[f.name] = int(raw)
            elif isinstance(default, float):
                kw[f.name] = float(raw)
            elif isinstance(default, Path):
                kw[f.name] = Path(raw)
            else:
                kw[f.name] = raw
        kw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**kw)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment that makes ``from_env`` rebuild this config (for the Locust processes)."""
        return {"BARID_LT_" + f.name.upper(): ("1" if v is True else "0" if v is False else str(v))
                for f in fields(self) if (v := getattr(self, f.name)) is not None}

    def fault_kinds(self) -> set[str]:
        kinds = {k.strip() for k in self.faults.split(",") if k.strip()}
        return kinds | ({"system"} if self.fault else set())

    @property
    def users(self) -> int:
        return max(3, round(self.rate / self.per_user_rate))
