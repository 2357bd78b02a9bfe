"""Money policy as data (money/data/policy.toml): who may book cash on delivery, and each shop's payout cycle.

The file is read once per process. The COD rule (``Policy.cod_refusal``, applied to a shop by
money/accounts.py's ``cod_rule``) is handed to booking's shop directory at assembly, which decides it once per
cached shop profile, so a booking pays for it with one attribute read.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLICY_FILE = Path(__file__).with_name("data") / "policy.toml"

# The Jalali week, Saturday first, with Python's date.weekday() of each day (Monday = 0).
JALALI_WEEKDAYS = {"شنبه": 5, "یکشنبه": 6, "دوشنبه": 0, "سه‌شنبه": 1, "چهارشنبه": 2, "پنجشنبه": 3, "جمعه": 4}
EVERY_DAY = "*"


# The problem codes a refused COD booking gets (booking/shops.py raises them; the policy only names them).
COD_REQUIRES_VERIFIED_SHEBA, COD_REQUIRES_ENAMAD = "cod_requires_verified_sheba", "cod_requires_enamad"


class PolicyError(ValueError):
    """The policy file itself is wrong: found at start, never on a request."""


@dataclass(frozen=True, slots=True)
class Cycle:
    """When a shop is paid: ``days_after_delivery`` working days after delivery, then on the next payout day
    (a Python weekday, or None for every working day), if the total reaches ``minimum_payout_rial``."""

    days_after_delivery: int
    payout_weekday: int | None
    minimum_payout_rial: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cycle:
        day = d.get("payout_weekday", EVERY_DAY)
        if day != EVERY_DAY and day not in JALALI_WEEKDAYS:
            raise PolicyError(f"payout_weekday {day!r} is not a day of the Jalali week ({', '.join(JALALI_WEEKDAYS)})")
        n, minimum = d.get("days_after_delivery"), d.get("minimum_payout_rial", 0)
        if not isinstance(n, int) or not 0 <= n <= 60 or not isinstance(minimum, int) or minimum < 0:
            raise PolicyError(f"settlement cycle {d!r}: days_after_delivery 0..60 and minimum_payout_rial >= 0")
        return cls(n, None if day == EVERY_DAY else JALALI_WEEKDAYS[day], minimum)


@dataclass(frozen=True, slots=True)
class Policy:
    cod_requires_verified_sheba: bool
    cod_requires_enamad: bool
    default_cycle: Cycle
    plans: dict[str, Cycle]
    payer_name: str = ""
    payer_sheba: str = ""

    def cycle(self, plan: str | None) -> Cycle:
        """A shop's cycle: its plan's, or the default (a plan since removed from the file falls back too)."""
        return self.plans.get(plan, self.default_cycle) if plan else self.default_cycle

    def cod_refusal(self, *, sheba_verified: bool, enamad_id: str | None) -> str | None:
        """The problem code a COD booking of a shop like this gets, or None when it may book COD."""
        if self.cod_requires_verified_sheba and not sheba_verified:
            return COD_REQUIRES_VERIFIED_SHEBA
        if self.cod_requires_enamad and not enamad_id:
            return COD_REQUIRES_ENAMAD
        return None


def parse_policy(text: str) -> Policy:
    raw = tomllib.loads(text)
    cod, settlement, payer = raw.get("cod", {}), raw.get("settlement", {}), raw.get("payer", {})
    return Policy(bool(cod.get("requires_verified_sheba", True)), bool(cod.get("requires_enamad", False)),
                  Cycle.from_dict(settlement.get("default", {"days_after_delivery": 3})),
                  {name: Cycle.from_dict(c) for name, c in settlement.get("plans", {}).items()},
                  str(payer.get("name", "")), str(payer.get("sheba", "")))


@functools.cache
def policy() -> Policy:
    return parse_policy(POLICY_FILE.read_text(encoding="utf-8"))

