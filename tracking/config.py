"""Tracking configuration: one dataclass with defaults, built from the environment once and passed explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from returns.policy import load_policy

from .ratelimit import TrackLimits

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
    # After this many failed delivery attempts the parcel goes back to the sender (the failed-delivery policy's
    # data, returns/data/ndr.toml, says how many).
    max_delivery_attempts: int = field(default_factory=lambda: load_policy().max_attempts)
    sse_heartbeat_s: float = 15.0
    # Public tracking lookups per client address ([public_tracking] in gateway/data/limits.toml).
    track_limits: TrackLimits = field(default_factory=TrackLimits.load)

    def __post_init__(self) -> None:
        if self.claim_idle_s <= self.delivery_timeout_s:
            raise ValueError("claim_idle_s must exceed delivery_timeout_s, or a slow delivery is sent twice")
        if not self.retry_schedule:
            raise ValueError("retry_schedule needs at least one delay")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> TrackingConfig:
        env = os.environ if env is None else env
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
