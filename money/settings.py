"""The money feature's settings: the one place it reads the environment, once, at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MoneySettings:
    # DATABASE_URL: an external PostgreSQL (>= 16); unset, the embedded one under data_dir/pg.
    database_url: str | None = None
    data_dir: Path = Path("var")
    # Run as root, the embedded server runs as this user (PostgreSQL refuses root).
    pg_user: str = "nobody"
    # Ledger worker processes `up` and `serve` start (the outbox's `ledger` consumer group).
    ledger_workers: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MoneySettings:
        env = os.environ if env is None else env
        workers = int(env.get("BARID_LEDGER_WORKERS", cls.ledger_workers))
        if workers < 0:
            raise ValueError("BARID_LEDGER_WORKERS must not be negative")
        return cls(database_url=env.get("DATABASE_URL") or None, data_dir=Path(env.get("BARID_DATA", "var")),
                   pg_user=env.get("BARID_PG_USER") or cls.pg_user, ledger_workers=workers)
