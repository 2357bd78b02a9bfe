"""What the return form offers, from the returns feature's own rules: its reasons with their Persian names
(``returns.buyer.REASONS``) and the window after delivery (``returns/data/returns.toml``). The API checks the same
again; the form only names them."""

from __future__ import annotations

from typing import Any

from returns.buyer import REASONS, load_policy


def return_form() -> dict[str, Any]:
    return {"return_reasons": list(REASONS.items()), "return_window_days": load_policy().window_days}
