"""Pickup rules, as data (``handover/data/pickups.toml``), and the checks a request meets before anything is stored.

Shape errors (a field of the wrong type) are field errors of one ``validation_failed``; a well-formed request that
breaks a scheduling rule (a past day, a Friday or holiday, a window outside office hours or too short, a day too
far ahead, a same-day request after the cut-off, too few parcels) is the rule's own problem, naming the rule's
value, so a shop's developer sees which rule and why.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

import jdatetime

from booking.validation import Errors, party
from kernel.errors import BaridError, Conflict, FieldError
from kernel.postal.text import PostalError, normalize_mobile, normalize_text
from kernel.postal.text import fa_digits as fa
from kernel.postal.timeutil import IRAN_TIME
from kernel.postal.workdays import holiday_name

RULES_PATH = Path(__file__).with_name("data") / "pickups.toml"
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$", re.ASCII)
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)


@dataclass(frozen=True, slots=True)
class Rules:
    cutoff_hour: int = 10
    opens_min: int = 8 * 60
    closes_min: int = 17 * 60
    min_window_min: int = 120
    min_parcels: int = 3
    max_days_ahead: int = 14
    max_tracking_numbers: int = 1000
    instructions_max_chars: int = 300
    expiry_days: int = 7
    expiry_batch: int = 200

    def cutoff(self, day: date) -> datetime:
        """When a pickup on ``day`` can no longer be asked for, changed or cancelled."""
        return datetime.combine(day, time(self.cutoff_hour), IRAN_TIME)


def _minutes(hhmm: str) -> int:
    m = _HHMM.match(hhmm)
    if m is None:
        raise ValueError(f"{hhmm!r} is not HH:MM")
    return int(m[1]) * 60 + int(m[2])


@lru_cache(maxsize=4)
def load_rules(path: str | Path | None = None) -> Rules:
    raw = tomllib.loads(Path(path or RULES_PATH).read_text(encoding="utf-8"))
    p, e = raw["pickup"], raw["expiry"]
    rules = Rules(cutoff_hour=int(p["same_day_cutoff_hour"]), opens_min=_minutes(p["office_opens"]),
                  closes_min=_minutes(p["office_closes"]), min_window_min=int(p["min_window_minutes"]),
                  min_parcels=int(p["min_parcels"]), max_days_ahead=int(p["max_days_ahead"]),
                  max_tracking_numbers=int(p["max_tracking_numbers"]),
                  instructions_max_chars=int(p["instructions_max_chars"]),
                  expiry_days=int(e["not_handed_over_days"]), expiry_batch=int(e["batch"]))
    if not (0 <= rules.cutoff_hour <= 23 and rules.opens_min + rules.min_window_min <= rules.closes_min
            and rules.min_parcels >= 1 and rules.max_days_ahead >= 0 and rules.expiry_days >= 1):
        raise ValueError(f"{path or RULES_PATH}: inconsistent pickup rules")
    return rules


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# -- problems ------------------------------------------------------------------------------------------------
class PickupRuleBroken(BaridError):
    """A well-formed pickup request that a scheduling rule refuses (its subclasses name the rule; all 422)."""


class PickupDateInPast(PickupRuleBroken):
    code = "pickup_date_in_past"
    title = "A pickup cannot be in the past"


class PickupDayOff(PickupRuleBroken):
    code = "pickup_day_off"
    title = "Post offices do not collect on Fridays and official holidays"


class PickupTooFarAhead(PickupRuleBroken):
    code = "pickup_too_far_ahead"
    title = "A pickup is booked at most a set number of days ahead"


class PickupAfterCutoff(PickupRuleBroken):
    code = "pickup_after_cutoff"
    title = "A same-day pickup must be asked for before the cut-off"


class PickupWindowOutsideHours(PickupRuleBroken):
    code = "pickup_window_outside_hours"
    title = "The pickup window lies outside office hours"


class PickupWindowTooShort(PickupRuleBroken):
    code = "pickup_window_too_short"
    title = "The pickup window is too short"


class PickupTooFewParcels(PickupRuleBroken):
    code = "pickup_too_few_parcels"
    title = "Too few parcels for a pickup"


class PickupPastCutoff(Conflict):
    code = "pickup_past_cutoff"
    title = "The pickup can no longer be changed or cancelled"


# -- parsing -------------------------------------------------------------------------------------------------
def parse(body: Any, rules: Rules, sender: dict[str, Any], *, update: bool = False) -> tuple[dict[str, Any], list[FieldError]]:
    """The normalised fields of a create (or, with ``update``, of a PATCH: only the fields given) request. Unknown
    fields are ignored, as in a booking."""
    if not isinstance(body, dict):
        return {}, [FieldError("", "type_object", "Must be a JSON object.", "باید یک شیء JSON باشد.")]
    errs = Errors()
    out: dict[str, Any] = {}
    if "address" in body or not update:
        out["address"] = _address(body.get("address"), sender, errs)
    if "date" in body or not update:
        d = body.get("date")
        if not isinstance(d, str) or not _DAY.match(d):
            errs.items.append(FieldError("date", "date_invalid", "Must be a date, YYYY-MM-DD (Iran time).",
                                         "تاریخ باید به شکل YYYY-MM-DD (به وقت ایران) باشد."))
        else:
            try:
                out["date"] = date.fromisoformat(d).isoformat()
            except ValueError:
                errs.items.append(FieldError("date", "date_invalid", "No such date.", "چنین تاریخی وجود ندارد."))
    if "window" in body or not update:
        w = body.get("window")
        if not isinstance(w, dict) or not all(isinstance(w.get(k), str) and _HHMM.match(w[k]) for k in ("from", "to")):
            errs.items.append(FieldError("window", "window_invalid", 'Must be {"from": "HH:MM", "to": "HH:MM"}.',
                                         'بازه باید به شکل {"from": "HH:MM", "to": "HH:MM"} باشد.'))
        else:
            out["window"] = {"from": w["from"], "to": w["to"]}
    if "expected_count" in body or "tracking_numbers" in body or not update:
        _parcels(body, rules, out, errs)
    if "instructions" in body:
        out["instructions"] = _text(body["instructions"], "instructions", rules.instructions_max_chars, errs)
    elif not update:
        out["instructions"] = ""
    if "contact_mobile" in body or not update:
        try:
            out["contact_mobile"] = normalize_mobile(body.get("contact_mobile", sender.get("phone")))
        except PostalError as exc:
            errs.items.append(FieldError("contact_mobile", exc.code, exc.message, exc.message_fa))
    return out, errs.items


def _address(value: Any, sender: dict[str, Any], errs: Errors) -> dict[str, Any]:
    if value is None:
        if not sender.get("postal_code"):
            errs.items.append(FieldError("address", "required", "The shop has no sender address: give one.",
                                         "فروشگاه نشانی فرستنده ندارد؛ نشانی محل جمع‌آوری را بفرستید."))
            return {}
        value = sender
    if not isinstance(value, dict):
        errs.items.append(FieldError("address", "type_object", "Must be a JSON object.", "باید یک شیء JSON باشد."))
        return {}
    inner = Errors()
    out = party(value, "sender", inner, ("postal_code", "province", "city", "address"))
    for e in inner.items:
        errs.items.append(FieldError(e.field.replace("sender", "address", 1), e.code, e.message, e.message_fa))
    return out


def optional_text(value: Any, max_len: int) -> str:
    """Free text that may be left blank: absent, empty or only invisible characters is ""; PostalError if it is not
    a string or is too long once normalised."""
    if value is None or value == "":
        return ""
    try:
        return normalize_text(value, max_len)
    except PostalError:
        if isinstance(value, str) and len(value) <= max_len:
            return ""  # short enough, so refused for leaving nothing visible once normalised
        raise


def _text(value: Any, field: str, max_len: int, errs: Errors) -> str:
    try:
        return optional_text(value, max_len)
    except PostalError as exc:
        errs.items.append(FieldError(field, exc.code, exc.message, exc.message_fa))
        return ""


def _parcels(body: dict, rules: Rules, out: dict[str, Any], errs: Errors) -> None:
    has_count, has_tns = "expected_count" in body, "tracking_numbers" in body
    if has_count == has_tns:
        errs.items.append(FieldError("expected_count", "one_of", "Give exactly one of expected_count or "
                                     "tracking_numbers.", "دقیقاً یکی از expected_count یا tracking_numbers را بفرستید."))
        return
    if has_count:
        n = body["expected_count"]
        if isinstance(n, float) and n.is_integer():  # JSON has one number type: 5.0 is the integer 5
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= rules.max_tracking_numbers:
            errs.items.append(FieldError("expected_count", "type_integer",
                                         f"Must be an integer from 1 to {rules.max_tracking_numbers}.",
                                         f"باید عددی صحیح از ۱ تا {rules.max_tracking_numbers} باشد."))
            return
        out["expected_count"], out["tracking_numbers"] = n, []
        return
    tns = body["tracking_numbers"]
    if (not isinstance(tns, list) or not 1 <= len(tns) <= rules.max_tracking_numbers
            or not all(isinstance(t, str) for t in tns)):
        errs.items.append(FieldError("tracking_numbers", "type_array",
                                     f"Must be an array of 1 to {rules.max_tracking_numbers} tracking numbers.",
                                     f"باید فهرستی از ۱ تا {rules.max_tracking_numbers} شمارهٔ رهگیری باشد."))
        return
    tns = list(dict.fromkeys(t.strip().upper() for t in tns))
    out["tracking_numbers"], out["expected_count"] = tns, len(tns)


# -- scheduling rules ----------------------------------------------------------------------------------------
def check_schedule(p: dict[str, Any], rules: Rules, now: float) -> None:
    """Raise the first scheduling rule the pickup (date, window, count) breaks, at ``now`` (epoch seconds)."""
    local = datetime.fromtimestamp(now, IRAN_TIME)
    today, day = local.date(), date.fromisoformat(p["date"])
    if day < today:
        raise PickupDateInPast(f"{day} is before today ({today}, Iran time)",
                               f"تاریخ {fa_day(day)} گذشته است؛ امروز {fa_day(today)} است",
                               extra={"field": "date"})
    if (day - today).days > rules.max_days_ahead:
        raise PickupTooFarAhead(f"{day} is more than {rules.max_days_ahead} days ahead",
                                f"درخواست جمع‌آوری حداکثر {fa(rules.max_days_ahead)} روز جلوتر پذیرفته می‌شود",
                                extra={"field": "date", "max_days_ahead": rules.max_days_ahead})
    off = holiday_name(day)
    if off is not None:
        raise PickupDayOff(f"{day} is not a working day ({'Friday' if off == 'جمعه' else 'an official holiday'})",
                           f"روز {fa_day(day)} تعطیل است ({off}) و مرسوله جمع‌آوری نمی‌شود",
                           extra={"field": "date", "day_off": off})
    if day == today and now >= rules.cutoff(day).timestamp():
        raise PickupAfterCutoff(f"a pickup for today must be asked for before {rules.cutoff_hour}:00 (Iran time)",
                                f"درخواست جمع‌آوری برای امروز تا ساعت {fa(rules.cutoff_hour)} پذیرفته می‌شود؛ "
                                "روز کاری دیگری را انتخاب کنید",
                                extra={"field": "date", "cutoff": rules.cutoff(day).isoformat()})
    start, end = _minutes(p["window"]["from"]), _minutes(p["window"]["to"])
    if start < rules.opens_min or end > rules.closes_min or start >= end:
        opens, closes = hhmm(rules.opens_min), hhmm(rules.closes_min)
        raise PickupWindowOutsideHours(f"the window must lie within office hours, {opens} to {closes}, and end "
                                       "after it starts",
                                       f"بازهٔ جمع‌آوری باید در ساعت کار اداره، از {fa(opens)} تا {fa(closes)}، باشد",
                                       extra={"field": "window", "office_hours": {"from": opens, "to": closes}})
    if end - start < rules.min_window_min:
        raise PickupWindowTooShort(f"the window must be at least {rules.min_window_min} minutes long",
                                   f"بازهٔ جمع‌آوری باید دست‌کم {fa(rules.min_window_min)} دقیقه باشد",
                                   extra={"field": "window", "min_window_minutes": rules.min_window_min})
    if p["expected_count"] < rules.min_parcels:
        raise PickupTooFewParcels(f"a pickup collects at least {rules.min_parcels} parcels",
                                  f"جمع‌آوری برای دست‌کم {fa(rules.min_parcels)} مرسوله انجام می‌شود",
                                  extra={"field": "expected_count", "min_parcels": rules.min_parcels})


def fa_day(d: date) -> str:
    """A day as Persian readers write it: the Jalali date in Persian digits."""
    try:
        return fa(jdatetime.date.fromgregorian(date=d).strftime("%Y/%m/%d"))
    except ValueError:  # before the Jalali calendar's first year: say it as given
        return fa(d.isoformat())


def window_minutes(p: dict[str, Any]) -> tuple[int, int]:
    return _minutes(p["window"]["from"]), _minutes(p["window"]["to"])


def check_before_cutoff(p: dict[str, Any], rules: Rules, now: float, verb: str, verb_fa: str) -> None:
    cutoff = rules.cutoff(date.fromisoformat(p["date"]))
    if now >= cutoff.timestamp():
        raise PickupPastCutoff(f"the pickup's cut-off ({cutoff.isoformat()}) has passed; it can no longer be {verb}",
                               f"مهلت {verb_fa} این درخواست جمع‌آوری (ساعت {fa(rules.cutoff_hour)} روز جمع‌آوری) "
                               "گذشته است", extra={"cutoff": cutoff.isoformat()})

