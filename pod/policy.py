"""The proof-of-delivery policy, as data (``pod/data/policy.toml``), and how a parcel's verification is decided.

A parcel's ``delivery_verification`` is, in order: what its booking says, else what its shop's setting says,
else the default of the data (a code for cash-on-delivery parcels above an amount, else none). It is decided
once, at booking, and written into the parcel's document, where the scan script reads it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

POLICY_PATH = Path(__file__).with_name("data") / "policy.toml"

METHODS = ("none", "otp", "signature")
METHOD_FA = {"none": "بدون تأیید", "otp": "رمز یک‌بار مصرف خریدار", "signature": "امضای تحویل‌گیرنده"}
# The booking field, the shop setting and the document field share this name.
FIELD = "delivery_verification"


@dataclass(frozen=True, slots=True)
class Policy:
    cod_otp_above_rial: int = 50_000_000
    max_wrong_codes: int = 5
    code_text_ttl_s: int = 86_400
    image_max_bytes: int = 300_000
    link_ttl_s: int = 900
    relations: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.max_wrong_codes < 1 or self.code_text_ttl_s < 1 or self.image_max_bytes < 1 or self.link_ttl_s < 1:
            raise ValueError("max_wrong_codes, code_text_ttl_s, image_max_bytes and link_ttl_s must be positive")
        if not self.relations:
            raise ValueError("at least one receiver relation is needed")

    @property
    def relation_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.relations)

    def relation_fa(self, name: str) -> str:
        return dict(self.relations).get(name, name)

    def resolve(self, requested: str | None, shop_setting: str | None, payment: dict[str, Any]) -> str:
        """The verification a booking gets: its own choice, its shop's, or the data's default."""
        if requested is not None:
            return requested
        if shop_setting in METHODS:
            return shop_setting  # type: ignore[return-value]
        if payment.get("type") == "cod" and (payment.get("goods_value") or 0) > self.cod_otp_above_rial:
            return "otp"
        return "none"


@lru_cache(maxsize=4)
def load_policy(path: str | Path | None = None) -> Policy:
    raw = tomllib.loads(Path(path or POLICY_PATH).read_text(encoding="utf-8"))
    return Policy(cod_otp_above_rial=int(raw["cod_otp_above_rial"]), max_wrong_codes=int(raw["max_wrong_codes"]),
                  code_text_ttl_s=int(raw["code_text_ttl_s"]), image_max_bytes=int(raw["image_max_bytes"]),
                  link_ttl_s=int(raw["link_ttl_s"]),
                  relations=tuple((str(k), str(v)) for k, v in raw["relations"].items()))


POLICY = load_policy()
