"""The buyer's SMS texts, in Persian with Persian digits (the tracking page's digit and Jalali helpers)."""

from __future__ import annotations

from datetime import date

from kernel.postal.offices import Registry
from kernel.postal.text import fa_digits
from kernel.postal.timeutil import jalali_long
from tracking.events import FAILURE_REASONS

from .policy import SmsPolicy

__all__ = ["booked", "out_for_delivery", "delivery_failed", "held_at_office", "delivered", "fa_digits",
           "jalali_long"]


def booked(tn: str, shop_name: str, track_url: str) -> str:
    who = f" از {shop_name}" if shop_name else ""
    return f"مرسولهٔ شما{who} با کد رهگیری {tn} در پست ثبت شد.\nپیگیری: {track_url}"


def out_for_delivery(tn: str, window: tuple[str, str], code: str | None) -> str:
    text = (f"مرسولهٔ {tn} امروز بین ساعت {fa_digits(window[0])} تا {fa_digits(window[1])} به دستتان می‌رسد؛ "
            "لطفاً در دسترس باشید.")
    if code:
        text += f"\nکد تحویل: {fa_digits(code)} (فقط هنگام تحویل به نامه‌رسان بگویید)"
    return text


def delivery_failed(tn: str, reason: str, link: str | None) -> str:
    why = FAILURE_REASONS.get(reason, (False, ""))[1]
    text = f"تحویل مرسولهٔ {tn} ناموفق بود" + (f" ({why})." if why else ".")
    if link:
        text += f"\nروز دیگری برای تحویل، تحویل حضوری در ادارهٔ پست یا توضیح نشانی را اینجا انتخاب کنید: {link}"
    else:
        text += "\nمرسوله به فرستنده بازمی‌گردد."
    return text


def held_at_office(tn: str, office_code: str, registry: Registry, policy: SmsPolicy) -> str:
    office = registry.offices.get(office_code)
    name = office.name_fa if office else office_code
    counter = policy.counters.get(office_code)
    address = counter.address if counter else (f"{office.city}، {name}" if office else name)
    hours = counter.hours if counter else policy.default_hours
    return (f"مرسولهٔ {tn} در {name} نگه‌داری می‌شود و می‌توانید با کارت شناسایی آن را تحویل بگیرید.\n"
            f"نشانی: {fa_digits(address)}\nساعت کار: {fa_digits(hours)}")


def delivered(tn: str) -> str:
    return f"مرسولهٔ {tn} تحویل داده شد. از همراهی شما سپاسگزاریم."


def day_label(day: date) -> str:
    return jalali_long(day)
