"""The printable Persian close sheet (Jinja2, autoescaped: ids and names the staff typed are text, never markup)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from kernel.postal.text import fa_digits, fa_rials
from kernel.postal.timeutil import IRAN_TIME, jalali_long, parse_iso

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def render_close_sheet(c: dict[str, Any]) -> str:
    variance = c["variance"]
    if variance:
        variance_text = f"{fa_rials(abs(variance))} ریال {'کسری' if variance < 0 else 'اضافه'}"
    else:
        variance_text = "بدون مغایرت"
    closed = datetime.fromtimestamp(parse_iso(c["closed_at"]), IRAN_TIME)
    return _env().get_template("close_sheet.html").render(
        c=c, day=jalali_long(date.fromisoformat(c["date"])), variance=variance_text, rials=fa_rials, fa=fa_digits,
        closed_at=jalali_long(closed.date()) + "، ساعت " + fa_digits(closed.strftime("%H:%M")))
