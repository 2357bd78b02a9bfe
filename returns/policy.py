"""The failed-delivery policy, as data (``returns/data/ndr.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

POLICY_PATH = Path(__file__).with_name("data") / "ndr.toml"

# The decisions a shop can take on a case (and the ones a deadline may take for it).
ACTIONS = ("reattempt", "reschedule", "update_contact", "hold_at_office", "return_to_sender")
DEFAULT_ACTIONS = ("reattempt", "hold_at_office", "return_to_sender")


@dataclass(frozen=True, slots=True)
class Policy:
    deadline_s: float = 48 * 3600.0
    default_action: str = "reattempt"
    max_attempts: int = 3
    reschedule_window_days: int = 7
    bulk_max_items: int = 100
    notes_max_chars: int = 200

    def __post_init__(self) -> None:
        if self.default_action not in DEFAULT_ACTIONS:
            raise ValueError(f"default_action must be one of {', '.join(DEFAULT_ACTIONS)}")
        if self.max_attempts < 1 or self.reschedule_window_days < 1 or self.deadline_s <= 0:
            raise ValueError("max_attempts, reschedule_window_days and the deadline must be positive")


@lru_cache(maxsize=4)
def load_policy(path: str | Path | None = None) -> Policy:
    raw = tomllib.loads(Path(path or POLICY_PATH).read_text(encoding="utf-8"))
    return Policy(deadline_s=float(raw["deadline_hours"]) * 3600.0, default_action=raw["default_action"],
                  max_attempts=int(raw["max_attempts"]), reschedule_window_days=int(raw["reschedule_window_days"]),
                  bulk_max_items=int(raw["bulk_max_items"]), notes_max_chars=int(raw["notes_max_chars"]))
