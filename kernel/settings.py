"""Barid's settings: ONE tree, built from the environment once and passed explicitly.

This module is the only reader of the environment (``from_env``), and ``VARIABLES`` lists every variable it
reads, with what it sets. ``Config`` is the root; ``Config.tracking`` holds the tracking feature's settings.
Two reads stay outside, on purpose: ``BARID_NO_EXTENSIONS`` is read once at import by ``kernel/extensions.py``
(it picks the compiled kernels or their twins before any settings exist, as aiohttp's ``AIOHTTP_NO_EXTENSIONS``
does), and ``setup.py`` reads it at build time.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

LIMITS_PATH = Path(__file__).with_name("postal") / "data" / "limits.toml"  # the packaged business limits

STORE_ALLOCATORS = ("auto", "libc")  # see store.server_environment
APPENDFSYNC_POLICIES = ("always", "everysec", "no")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Every environment variable Barid reads, and what it sets.
VARIABLES: dict[str, str] = {
    "REDIS_URL": "an external store (Valkey/Redis); unset: an embedded server under BARID_DATA",
    "BARID_REDIS_CLUSTER": "1: REDIS_URL names one node of a Redis Cluster",
    "BARID_DATA": "directory of the embedded store's files and the demo data (default var)",
    "BARID_APPENDFSYNC": "embedded store's AOF fsync policy: always (default), everysec, no",
    "BARID_STORE_ALLOCATOR": "embedded store's malloc: auto (jemalloc where present) or libc",
    "BARID_STORE_AOF_REWRITE_MIN_MB": "embedded store rewrites its AOF only past this size (default 1024)",
    "BARID_HOST": "HTTP listen address (default 127.0.0.1)",
    "BARID_PORT": "HTTP port (default 8080)",
    "BARID_WORKERS": "gateway worker processes (default 1)",
    "BARID_LOG_LEVEL": "log level of every process (default INFO)",
    "BARID_ACCESS_LOG": "0: no JSON access log",
    "BARID_RATE_PER_S": "default per-shop sustained rate (requests/s)",
    "BARID_RATE_BURST": "default per-shop burst",
    "BARID_LIMITS": "path of a limits.toml replacing the packaged one",
    "BARID_TARIFF": "path of a tariff.toml replacing the packaged one",
    "BARID_METRICS_PUBLIC": "1: /metrics answers any client",
    "BARID_METRICS_TOKEN": "bearer token that opens /metrics to non-loopback clients (kept as its SHA-256)",
    "BARID_KEY_ROTATION_OVERLAP_S": "seconds an old API key keeps working after a rotation (default 86400)",
    "BARID_SHEET_SECRET": "key of the signed route-sheet links (default: a random one kept in the store)",
    "BARID_POD_SECRET": "key of the delivery codes' hashes and the POD image links (default: a random one kept in "
                        "the store)",
    "BARID_POD_DIR": "where proof-of-delivery images are kept (default BARID_DATA/pod)",
    "BARID_OPERATOR_TOKEN_SHA256": "comma-separated SHA-256 hex digests of the operators' planning tokens",
    "BARID_WEBHOOK_ALLOW_HOSTS": "comma-separated non-public hosts webhooks may reach",
    "BARID_WEBHOOK_RETRY_SCHEDULE": "comma-separated seconds between webhook attempts",
    "BARID_WEBHOOK_TIME_SCALE": "multiplies every webhook delay (tests: 0.001)",
    "BARID_WEBHOOK_TIMEOUT_S": "one webhook delivery's timeout",
    "BARID_WEBHOOK_CLAIM_IDLE_S": "a leased delivery idle this long is taken over by another dispatcher",
    "BARID_WEBHOOK_POLL_S": "how often a dispatcher looks for due retries",
    "BARID_WEBHOOK_MAX_IN_FLIGHT": "concurrent deliveries per dispatcher",
    "BARID_WEBHOOK_MAX_PER_ENDPOINT": "concurrent deliveries per endpoint",
    "BARID_OUTBOX_RETENTION_S": "outbox entries older than this (and acknowledged) are trimmed",
    "BARID_DEAD_RETENTION_S": "dead letters are kept this long",
    "BARID_TRACK_RATE_PER_S": "public tracking lookups per second per client address",
    "BARID_TRACK_BURST": "public tracking burst per client address",
    "BARID_PUBLIC_URL": "the public origin buyers reach (behind a proxy); labels' QR codes link there",
    "BARID_NDR_INTERVAL_S": "seconds between failed-delivery case sweeps in each gateway process (0: off)",
    "BARID_EXPIRY_INTERVAL_S": "seconds between sweeps for parcels not handed over in time, per gateway process (0: off)",
    "BARID_STAFF_CODE_TTL_S": "seconds a staff app sign-in code stays valid (default 600)",
    "BARID_STAFF_SESSION_TTL_S": "seconds an unused staff app session lives on (default 7776000, 90 days)",
    "BARID_STAFF_COOKIE_SECURE": "0: the staff app's session cookie without Secure (plain-HTTP development only)",
    "BARID_STAFF_SIGN_IN_FAILURES": "failed staff sign-ins allowed per client address per 15 minutes (default 20)",
    "BARID_SMS_URL": "the SMS provider's base URL (Kavenegar's API); unset with `up`: a local stand-in",
    "BARID_SMS_API_KEY": "the SMS provider's API key",
    "BARID_SMS_SENDER": "the provider line buyer SMS come from (unset: the account's default)",
    "BARID_SMS_LINK_SECRET": "key of the buyers' signed self-service links (default: random per process)",
    "BARID_SMS_INTERVAL_S": "seconds between buyer-SMS sweeps in each gateway process (0: off)",
    "BARID_TRUSTED_PROXIES": "comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed",
    "BARID_PANEL_SESSION_TTL_S": "seconds a shop panel session lives without use (default 43200)",
    "BARID_PANEL_LOGIN_BURST": "panel sign-in attempts allowed at once per mobile (per address: ten times it)",
    "BARID_PANEL_LOGIN_PERIOD_S": "seconds to earn one more panel sign-in attempt (default 60)",
    "BARID_NO_EXTENSIONS": "1: use the pure-Python twins instead of the compiled kernels (read at import)",
    "DATABASE_URL": "the ledger's PostgreSQL (16+); unset: an embedded server under BARID_DATA/pg",
    "BARID_PG_USER": "run as root, the system user the embedded PostgreSQL runs as (default nobody)",
    "BARID_LEDGER_WORKERS": "ledger worker processes `up` starts (default 1)",
    "BARID_REMITTANCE_HOUR": "the Tehran hour (0-23) after which the daily remittance run is made on working days "
                             "(default 9; off: no scheduled run)",
}


def hash_token(token: str) -> str:
    """An operator token as it is kept in memory and compared (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


@dataclass(frozen=True, slots=True)
class TrackLimits:
    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not self.rate_per_s > 0 or self.burst < 1:
            raise ValueError(f"public tracking limits need rate_per_s > 0 and burst >= 1, got {self}")

    @classmethod
    def load(cls, path: Path | str | None = None) -> TrackLimits:
        with open(path or LIMITS_PATH, "rb") as f:
            table = tomllib.load(f).get("public_tracking", {})
        return cls(float(table.get("rate_per_s", 1.0)), int(table.get("burst", 60)))


# Seconds between webhook attempts after a failure (first retry 5 s after the first try, ...). With the first
# try that is 10 attempts over about three days; every delay gets +-20 % jitter.
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


@dataclass(frozen=True)
class TrackingConfig:
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    retry_jitter: float = 0.2
    # Multiplies every retry delay and Retry-After: 0.001 turns the schedule's hours into seconds for tests.
    time_scale: float = 1.0
    # Longest Retry-After (seconds) honoured; longer answers are capped to it.
    max_retry_after_s: float = 86400.0
    delivery_timeout_s: float = 10.0
    # A delivery leased by a dispatcher that has not finished it this long after is taken over by another
    # (a killed dispatcher loses nothing). Must exceed delivery_timeout_s.
    claim_idle_s: float = 30.0
    # How often each dispatcher looks for due retries and expired leases.
    poll_interval_s: float = 0.25
    # Outbox entries one fan-out call moves into delivery queues (each carries up to keys.OUTBOX_RUN events, so
    # a call handles at most 1,000 events and holds the store a few milliseconds at most).
    fanout_batch: int = 50
    # Due deliveries one claim call takes from a partition.
    claim_batch: int = 200
    max_in_flight: int = 512  # concurrent HTTP deliveries per dispatcher
    max_in_flight_per_endpoint: int = 32  # one slow storefront cannot take every slot
    # A dispatcher holding this many undelivered leased items stops taking new outbox entries.
    max_backlog: int = 5000
    # Outbox retention: an entry is trimmed once every consumer group has acknowledged it AND it is older
    # than this. Dead letters are kept as long, then dropped.
    outbox_retention_s: float = 7 * 86400.0
    dead_retention_s: float = 30 * 86400.0
    trim_interval_s: float = 60.0
    # Registration and delivery only reach public addresses, except these hosts (exact names or IPs).
    webhook_allow_hosts: frozenset[str] = frozenset()
    # Old secret stays valid (deliveries carry both signatures) this long after a rotation.
    secret_overlap_s: float = 86400.0
    max_endpoints_per_shop: int = 16
    max_batch_scans: int = 1000
    # A scan may claim to have happened at most this far in the future (device clock skew).
    max_clock_skew_s: float = 300.0
    # ...and at most this far in the past (an offline device uploads within days, never years).
    max_scan_age_s: float = 90 * 86400.0
    # After this many failed delivery attempts the parcel goes back to the sender.
    max_delivery_attempts: int = 3
    sse_heartbeat_s: float = 15.0
    # Public tracking lookups per client address ([public_tracking] in kernel/postal/data/limits.toml).
    track_limits: TrackLimits = field(default_factory=TrackLimits.load)

    def __post_init__(self) -> None:
        if self.claim_idle_s <= self.delivery_timeout_s:
            raise ValueError("claim_idle_s must exceed delivery_timeout_s, or a slow delivery is sent twice")
        if not self.retry_schedule:
            raise ValueError("retry_schedule needs at least one delay")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> TrackingConfig:
        env = os.environ if env is None else env  # the one reader of the environment: this module
        kw: dict[str, object] = {}
        if env.get("BARID_WEBHOOK_RETRY_SCHEDULE"):
            kw["retry_schedule"] = _floats(env["BARID_WEBHOOK_RETRY_SCHEDULE"])
        floats = {
            "BARID_WEBHOOK_TIME_SCALE": "time_scale", "BARID_WEBHOOK_TIMEOUT_S": "delivery_timeout_s",
            "BARID_WEBHOOK_CLAIM_IDLE_S": "claim_idle_s", "BARID_WEBHOOK_POLL_S": "poll_interval_s",
            "BARID_OUTBOX_RETENTION_S": "outbox_retention_s", "BARID_DEAD_RETENTION_S": "dead_retention_s",
        }
        for var, name in floats.items():
            if env.get(var):
                kw[name] = float(env[var])
        ints = {"BARID_WEBHOOK_MAX_IN_FLIGHT": "max_in_flight",
                "BARID_WEBHOOK_MAX_PER_ENDPOINT": "max_in_flight_per_endpoint"}
        for var, name in ints.items():
            if env.get(var):
                kw[name] = int(env[var])
        if env.get("BARID_TRACK_RATE_PER_S") or env.get("BARID_TRACK_BURST"):
            limits = TrackLimits.load()
            kw["track_limits"] = TrackLimits(float(env.get("BARID_TRACK_RATE_PER_S") or limits.rate_per_s),
                                             int(env.get("BARID_TRACK_BURST") or limits.burst))
        hosts = env.get("BARID_WEBHOOK_ALLOW_HOSTS", "")
        kw["webhook_allow_hosts"] = frozenset(h.strip().lower() for h in hosts.split(",") if h.strip())
        kw.update(overrides)
        return cls(**kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class MoneySettings:
    # DATABASE_URL: an external PostgreSQL (>= 16); unset, the embedded one under data_dir/pg.
    database_url: str | None = None
    data_dir: Path = Path("var")
    # Run as root, the embedded server runs as this user (PostgreSQL refuses root).
    pg_user: str = "nobody"
    # Ledger worker processes `up` starts (the outbox's `ledger` consumer group).
    ledger_workers: int = 1
    # The Tehran hour after which the daily remittance run is made (money/scheduler.py); None: never by itself.
    remittance_hour: int | None = 9

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MoneySettings:
        env = os.environ if env is None else env  # the one reader of the environment: this module
        workers = int(env.get("BARID_LEDGER_WORKERS", cls.ledger_workers))
        if workers < 0:
            raise ValueError("BARID_LEDGER_WORKERS must not be negative")
        raw_hour = env.get("BARID_REMITTANCE_HOUR", "").strip().lower()
        hour = None if raw_hour == "off" else int(raw_hour) if raw_hour else cls.remittance_hour
        if hour is not None and not 0 <= hour <= 23:
            raise ValueError("BARID_REMITTANCE_HOUR must be an hour 0-23 or off")
        return cls(database_url=env.get("DATABASE_URL") or None, data_dir=Path(env.get("BARID_DATA", "var")),
                   pg_user=env.get("BARID_PG_USER") or cls.pg_user, ledger_workers=workers, remittance_hour=hour)


@dataclass(frozen=True)
class PanelConfig:
    """The shop panel's sessions and sign-in limits."""

    # A session unused this long ends (each use renews it).
    session_ttl_s: int = 12 * 3600
    # Sign-in attempts per mobile at once, and the seconds to earn one more; a client address gets ten times the
    # burst, because many shop users may sign in from behind one office address.
    login_burst: int = 5
    login_period_s: float = 60.0

    def __post_init__(self) -> None:
        if self.session_ttl_s < 60 or self.login_burst < 1 or not self.login_period_s > 0:
            raise ValueError(f"panel settings need session_ttl_s >= 60, login_burst >= 1, login_period_s > 0: {self}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PanelConfig:
        return cls(session_ttl_s=int(env.get("BARID_PANEL_SESSION_TTL_S") or cls.session_ttl_s),
                   login_burst=int(env.get("BARID_PANEL_LOGIN_BURST") or cls.login_burst),
                   login_period_s=float(env.get("BARID_PANEL_LOGIN_PERIOD_S") or cls.login_period_s))


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
    # Reverse proxies in front of the gateway: a request from one of them is from the address it forwards for
    # (the right-most X-Forwarded-For entry that is not itself a proxy). Empty: the header is ignored.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # The public origin buyers reach (behind a proxy); None: the origin the caller used.
    public_url: str | None = None
    # Seconds between failed-delivery case sweeps in each gateway process (0: off).
    ndr_interval_s: float = 1.0
    # Seconds between sweeps that cancel parcels not handed over in time (handover.expiry; 0: off here).
    expiry_interval_s: float = 60.0
    # Buyer SMS (notify): the provider (Kavenegar's API; None: not configured, `up` then runs a local stand-in),
    # its key and sender line, the key of the self-service links (None: random per process), the sweep interval.
    sms_url: str | None = None
    sms_api_key: str | None = None
    sms_sender: str | None = None
    sms_link_secret: str | None = None
    sms_interval_s: float = 1.0
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
    # Key of the delivery codes' hashes and the signed POD image links (pod); None: a random one kept in the store.
    pod_secret: str | None = None
    # Where proof-of-delivery images are kept; None: <data_dir>/pod.
    pod_dir: Path | None = None
    # Operators' planning tokens, as SHA-256 hex digests (BARID_OPERATOR_TOKEN_SHA256).
    operator_token_sha256: frozenset[str] = frozenset()
    log_level: str = "INFO"
    # The staff app (staffapp.sessions): one-time sign-in codes, device sessions and their cookie.
    staff_code_ttl_s: int = 600
    staff_session_ttl_s: int = 90 * 86400
    staff_cookie_secure: bool = True
    staff_sign_in_failures: int = 20
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    money: MoneySettings = field(default_factory=MoneySettings)
    # The ledger's PostgreSQL as the supervisor opened it (money.pg: DATABASE_URL or the embedded server); None:
    # this process has no ledger and the money routes answer 503.
    database_dsn: str | None = None
    panel: PanelConfig = field(default_factory=PanelConfig)

    def effective_tracking(self) -> TrackingConfig:
        """The tracking settings, with the webhook allow list ``up`` decided where it decided one."""
        if self.webhook_allow_hosts is None:
            return self.tracking
        return replace(self.tracking, webhook_allow_hosts=self.webhook_allow_hosts)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Config:
        env = os.environ if env is None else env  # the one reader of the environment: this module
        cfg = cls(
            redis_url=env.get("REDIS_URL") or None,
            redis_cluster=env.get("BARID_REDIS_CLUSTER", "0") in ("1", "true", "yes"),
            data_dir=Path(env.get("BARID_DATA", "var")),
            appendfsync=env.get("BARID_APPENDFSYNC", "always"),
            store_allocator=env.get("BARID_STORE_ALLOCATOR", cls.store_allocator),
            store_aof_rewrite_min_mb=int(env.get("BARID_STORE_AOF_REWRITE_MIN_MB", cls.store_aof_rewrite_min_mb)),
            host=env.get("BARID_HOST", cls.host),
            public_url=(env.get("BARID_PUBLIC_URL") or "").rstrip("/") or None,
            trusted_proxies=tuple(ipaddress.ip_network(x.strip(), strict=False)
                                  for x in env.get("BARID_TRUSTED_PROXIES", "").split(",") if x.strip()),
            ndr_interval_s=float(env.get("BARID_NDR_INTERVAL_S") or cls.ndr_interval_s),
            expiry_interval_s=float(env.get("BARID_EXPIRY_INTERVAL_S") or cls.expiry_interval_s),
            sms_url=(env.get("BARID_SMS_URL") or "").rstrip("/") or None,
            sms_api_key=env.get("BARID_SMS_API_KEY") or None,
            sms_sender=env.get("BARID_SMS_SENDER") or None,
            sms_link_secret=env.get("BARID_SMS_LINK_SECRET") or None,
            sms_interval_s=float(env.get("BARID_SMS_INTERVAL_S") or cls.sms_interval_s),
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
            pod_secret=env.get("BARID_POD_SECRET") or None,
            pod_dir=Path(env["BARID_POD_DIR"]) if env.get("BARID_POD_DIR") else None,
            operator_token_sha256=frozenset(
                h.strip().lower() for h in env.get("BARID_OPERATOR_TOKEN_SHA256", "").split(",") if h.strip()),
            log_level=env.get("BARID_LOG_LEVEL", cls.log_level).upper(),
            staff_code_ttl_s=int(env.get("BARID_STAFF_CODE_TTL_S") or cls.staff_code_ttl_s),
            staff_session_ttl_s=int(env.get("BARID_STAFF_SESSION_TTL_S") or cls.staff_session_ttl_s),
            staff_cookie_secure=env.get("BARID_STAFF_COOKIE_SECURE", "1") not in ("0", "false", "no"),
            staff_sign_in_failures=int(env.get("BARID_STAFF_SIGN_IN_FAILURES") or cls.staff_sign_in_failures),
            tracking=TrackingConfig.from_env(env),
            money=MoneySettings.from_env(env),
            panel=PanelConfig.from_env(env),
        )
        cfg = replace(cfg, **overrides) if overrides else cfg
        if cfg.appendfsync not in APPENDFSYNC_POLICIES:
            raise ValueError(f"BARID_APPENDFSYNC must be one of {APPENDFSYNC_POLICIES}")
        if cfg.store_aof_rewrite_min_mb < 1:
            raise ValueError("BARID_STORE_AOF_REWRITE_MIN_MB must be at least 1")
        if cfg.key_rotation_overlap_s < 0:
            raise ValueError("BARID_KEY_ROTATION_OVERLAP_S must not be negative")
        if cfg.log_level not in LOG_LEVELS:
            raise ValueError(f"BARID_LOG_LEVEL must be one of {LOG_LEVELS}")
        if cfg.store_allocator not in STORE_ALLOCATORS:
            raise ValueError(f"BARID_STORE_ALLOCATOR must be one of {STORE_ALLOCATORS}")
        return cfg
