"""The problem catalogue: every error code's HTTP status, English title and Persian text, in one table.

The table is data (``data/problems.toml``). Raise sites may carry a more specific message; where one gives no
Persian text, the catalogue's is used, so no answer goes out without one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

_PATH = Path(__file__).with_name("data") / "problems.toml"


@dataclass(frozen=True, slots=True)
class ProblemType:
    code: str
    status: int
    title: str
    fa: str


def _load() -> dict[str, ProblemType]:
    with _PATH.open("rb") as f:
        raw = tomllib.load(f)
    return {code: ProblemType(code, int(v["status"]), v["title"], v["fa"]) for code, v in raw.items()}


CATALOGUE: dict[str, ProblemType] = _load()


def describe(code: str) -> ProblemType:
    """The catalogue entry for ``code``; an unknown code reads as an internal error (the suite forbids them)."""
    return CATALOGUE.get(code) or CATALOGUE["internal_error"]
