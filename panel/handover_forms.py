"""What the pickup form offers, from handover's rules (``handover/data/pickups.toml``) and the working-day
calendar: the days a pickup may be asked for (today while before the cut-off, then each working day up to the
furthest allowed), and the window's times within office hours. The API checks the same rules again; the form only
spares the user a choice the API would refuse."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from handover.pickup_rules import hhmm, load_rules
from kernel.postal.text import fa_digits
from kernel.postal.timeutil import IRAN_TIME, jalali_long
from kernel.postal.workdays import is_working_day

STEP_MIN = 30  # the window's times, every half hour
DEFAULT_WINDOW_MIN = 180  # the form starts at a morning window: 09:00 to 12:00 with the default rules


def pickup_form(now: float | None = None) -> dict[str, Any]:
    rules = load_rules()
    now = time.time() if now is None else now
    today = datetime.fromtimestamp(now, IRAN_TIME).date()
    days = []
    for ahead in range(rules.max_days_ahead + 1):
        day = today + timedelta(days=ahead)
        if not is_working_day(day) or (ahead == 0 and now >= rules.cutoff(day).timestamp()):
            continue
        days.append({"value": day.isoformat(), "label": ("امروز، " if ahead == 0 else "") + jalali_long(day)})
    times = [{"value": hhmm(m), "label": fa_digits(hhmm(m))}
             for m in range(rules.opens_min, rules.closes_min + 1, STEP_MIN)]
    length = max(rules.min_window_min, DEFAULT_WINDOW_MIN)
    start = max(rules.opens_min, min(9 * 60, rules.closes_min - length))
    end = min(start + length, rules.closes_min)
    return {"pickup_days": days, "pickup_times": times, "window_from": hhmm(start), "window_to": hhmm(end),
            "pickup_rules": {"min_parcels": fa_digits(rules.min_parcels), "cutoff_hour": fa_digits(rules.cutoff_hour),
                             "min_window": fa_digits(rules.min_window_min), "opens": fa_digits(hhmm(rules.opens_min)),
                             "closes": fa_digits(hhmm(rules.closes_min)),
                             "instructions_max": rules.instructions_max_chars}}
