"""The SMS policy, as data (``notify/data/sms.toml``): events, quiet hours, retries, links, office counters."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

POLICY_PATH = Path(__file__).with_name("data") / "sms.toml"
TEHRAN = ZoneInfo("Asia/Tehran")
EVENTS = ("booked", "out_for_delivery", "delivery_failed", "held_at_office", "delivered")


def _clock(text: str) -> time:
    return datetime.strptime(text, "%H:%M").time()


@dataclass(frozen=True, slots=True)
class Counter:
    address: str
    hours: str


@dataclass(frozen=True, slots=True)
class SmsPolicy:
    events: tuple[str, ...] = EVENTS
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    retry_schedule: tuple[float, ...] = (10, 30, 120, 600, 1800, 3600)
    lease_s: float = 30.0
    delivery_window: tuple[str, str] = ("09:00", "17:00")
    link_ttl_s: float = 72 * 3600.0
    page_rate_per_s: float = 0.5
    page_burst: int = 20
    keep_s: float = 90 * 86400.0
    default_hours: str = ""
    counters: dict[str, Counter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not set(self.events) <= set(EVENTS) or not self.retry_schedule or self.lease_s <= 0:
            raise ValueError(f"sms policy: events must be among {EVENTS}, retries and the lease non-empty")

    def quiet(self, at: float) -> bool:
        t = datetime.fromtimestamp(at, TEHRAN).time()
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= t < self.quiet_end
        return t >= self.quiet_start or t < self.quiet_end  # the window spans midnight

    def next_allowed(self, at: float) -> float:
        """``at`` itself outside quiet hours, else the end of the quiet hours it falls in (Tehran time)."""
        if not self.quiet(at):
            return at
        local = datetime.fromtimestamp(at, TEHRAN)
        end = local.replace(hour=self.quiet_end.hour, minute=self.quiet_end.minute, second=0, microsecond=0)
        if end <= local:
            end = (local + timedelta(days=1)).replace(hour=self.quiet_end.hour, minute=self.quiet_end.minute,
                                                      second=0, microsecond=0)
        return end.timestamp()


@lru_cache(maxsize=4)
def load_policy(path: str | Path | None = None) -> SmsPolicy:
    raw = tomllib.loads(Path(path or POLICY_PATH).read_text(encoding="utf-8"))
    window = raw["delivery_window"]
    return SmsPolicy(
        events=tuple(raw["events"]), quiet_start=_clock(raw["quiet_start"]), quiet_end=_clock(raw["quiet_end"]),
        retry_schedule=tuple(float(s) for s in raw["retry_schedule"]), lease_s=float(raw["lease_s"]),
        delivery_window=(window[0], window[1]), link_ttl_s=float(raw["link_ttl_hours"]) * 3600.0,
        page_rate_per_s=float(raw["page_rate_per_s"]), page_burst=int(raw["page_burst"]),
        keep_s=float(raw["keep_days"]) * 86400.0, default_hours=raw["default_hours"],
        counters={code: Counter(c["address"], c["hours"]) for code, c in raw.get("counters", {}).items()})
