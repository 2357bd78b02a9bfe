"""Gateway configuration: one dataclass with defaults, built from the environment once and passed explicitly."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

STORE_ALLOCATORS = ("auto", "libc")  # see store.server_environment
APPENDFSYNC_POLICIES = ("always", "everysec", "no")


def hash_token(token: str) -> str:
    """An operator token as it is kept in memory and compared (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Config:
    # Store: REDIS_URL wins; otherwise an embedded server keeps its files under data_dir.
    redis_url: str | None = None
    redis_cluster: bool = False  # REDIS_URL names one node of a Redis Cluster
    data_dir: Path = Path("var")
    appendfsync: str = "always"
    store_allocator: str = "auto"  # the embedded server's malloc: jemalloc where the system has it, or "libc"
    # The embedded server rewrites its AOF only once the appended part is this big (and as big as the base).
    store_aof_rewrite_min_mb: int = 1024
    # HTTP
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    # Per-shop rate limit (GCRA): sustained requests/s and burst size; a shop record may override both.
    rate_per_s: float = 2000.0
    rate_burst: int = 4000
    # Idempotency records live this long (Stripe keeps them at least 24 h).
    idempotency_ttl_s: int = 48 * 3600
    # Serial numbers a process reserves at once (gaps after a crash are harmless; reuse never happens).
    serial_block: int = 1000
    access_log: bool = True
    limits_path: Path | None = None
    tariff_path: Path | None = None
    # Where the workers of one supervisor share metric snapshots (set by the supervisor; None: this process only).
    metrics_dir: Path | None = None
    # /metrics answers loopback clients, and others that send `Authorization: Bearer <token>` with this token
    # (kept only as its SHA-256, from BARID_METRICS_TOKEN); metrics_public (BARID_METRICS_PUBLIC=1) opens it.
    metrics_public: bool = False
    metrics_token_sha256: str | None = None
    # After `shops rotate-key` the old key keeps working this long (BARID_KEY_ROTATION_OVERLAP_S).
    key_rotation_overlap_s: float = 86400.0
    # Hosts webhooks may reach although they are not public. None: what BARID_WEBHOOK_ALLOW_HOSTS says (read by
    # the tracking settings). Only `up` sets it, for its demo storefronts on this machine, and prints it.
    webhook_allow_hosts: frozenset[str] | None = None
    # Key of the signed route-sheet links (routing.sheet_links); None: a random one kept in the store.
    sheet_secret: str | None = None
    # The ledger's PostgreSQL as the supervisor opened it (money.pg: DATABASE_URL or the embedded server); None:
    # this process has no ledger and the money routes answer 503.
    database_dsn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Config:
        env = os.environ if env is None else env
        cfg = cls(
            redis_url=env.get("REDIS_URL") or None,
            redis_cluster=env.get("BARID_REDIS_CLUSTER", "0") in ("1", "true", "yes"),
            data_dir=Path(env.get("BARID_DATA", "var")),
            appendfsync=env.get("BARID_APPENDFSYNC", "always"),
            store_allocator=env.get("BARID_STORE_ALLOCATOR", cls.store_allocator),
            store_aof_rewrite_min_mb=int(env.get("BARID_STORE_AOF_REWRITE_MIN_MB", cls.store_aof_rewrite_min_mb)),
            host=env.get("BARID_HOST", cls.host),
            port=int(env.get("BARID_PORT", cls.port)),
            workers=int(env.get("BARID_WORKERS", cls.workers)),
            rate_per_s=float(env.get("BARID_RATE_PER_S", cls.rate_per_s)),
            rate_burst=int(env.get("BARID_RATE_BURST", cls.rate_burst)),
            access_log=env.get("BARID_ACCESS_LOG", "1") not in ("0", "false", "no"),
            limits_path=Path(env["BARID_LIMITS"]) if env.get("BARID_LIMITS") else None,
            tariff_path=Path(env["BARID_TARIFF"]) if env.get("BARID_TARIFF") else None,
            metrics_public=env.get("BARID_METRICS_PUBLIC", "0") in ("1", "true", "yes"),
            metrics_token_sha256=hash_token(env["BARID_METRICS_TOKEN"]) if env.get("BARID_METRICS_TOKEN") else None,
            key_rotation_overlap_s=float(env.get("BARID_KEY_ROTATION_OVERLAP_S", cls.key_rotation_overlap_s)),
            sheet_secret=env.get("BARID_SHEET_SECRET") or None,
        )
        cfg = replace(cfg, **overrides) if overrides else cfg
        if cfg.appendfsync not in APPENDFSYNC_POLICIES:
            raise ValueError(f"BARID_APPENDFSYNC must be one of {APPENDFSYNC_POLICIES}")
        if cfg.store_aof_rewrite_min_mb < 1:
            raise ValueError("BARID_STORE_AOF_REWRITE_MIN_MB must be at least 1")
        if cfg.key_rotation_overlap_s < 0:
            raise ValueError("BARID_KEY_ROTATION_OVERLAP_S must not be negative")
        if cfg.store_allocator not in STORE_ALLOCATORS:
            raise ValueError(f"BARID_STORE_ALLOCATOR must be one of {STORE_ALLOCATORS}")
        return cfg
