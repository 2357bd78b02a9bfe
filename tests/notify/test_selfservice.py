"""The buyer's self-service page: opened from the failed-attempt SMS, signed, expiring, rate-limited, and its
choice becomes the case's action. One test drives it in real headless Chromium on a phone-sized window."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from notify import links
from tests.browser import needs_chromium, phone_driver

from .conftest import for_phone

LINK = re.compile(r"http://barid\.test(/s/[A-Za-z0-9._-]+)")


@pytest.fixture
def failed(client, shop, sms, sent, parcel, turn_on, scan, cases):
    """A parcel whose delivery failed, its case opened and its SMS sent: (tracking number, page path)."""
    async def make(reason: str = "receiver_absent") -> tuple[str, str | None]:
        await turn_on(["delivery_failed"])
        tn, phone = await parcel(at_office=True)
        await scan(tn, "out_for_delivery", "delivery_failed", reason=reason)
        await cases.consume()
        await sms.run_once()
        [msg] = for_phone(sent, phone)
        assert "ناموفق" in msg["message"]
        m = LINK.search(msg["message"])
        return tn, (m.group(1) if m else None)

    return make


async def _case(client, shop, tn: str) -> dict:
    return await (await client.get(f"/v1/ndr/{tn}", headers=shop.headers)).json()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def test_page_offers_working_days_and_a_choice_reschedules(client, shop, failed):
    tn, path = await failed()
    resp = await client.get(path)
    html = await resp.text()
    assert resp.status == 200 and 'dir="rtl"' in html and tn in html
    assert resp.headers["Referrer-Policy"] == "no-referrer" and "no-store" in resp.headers["Cache-Control"]
    days = re.findall(r'value="day:([0-9-]+)"', html)
    assert days and "جمعه" not in html.split('name="choice"', 1)[1].split("</fieldset>")[0]
    resp = await client.post(path, data={"csrf": _csrf(html), "choice": f"day:{days[1]}", "notes": "زنگ دوم"})
    html = await resp.text()
    assert resp.status == 200 and "انتخاب شما ثبت شد" in html
    case = await _case(client, shop, tn)
    assert case["status"] == "rescheduled" and case["scheduled_for"] == days[1]
    assert case["contact"]["address_notes"] == "زنگ دوم"
    assert [a["action"] for a in case["actions"]] == ["reschedule", "update_contact"]


async def test_hold_at_office_and_notes_only(client, shop, failed):
    tn, path = await failed()
    html = await (await client.get(path)).text()
    resp = await client.post(path, data={"csrf": _csrf(html), "choice": "hold"})
    assert resp.status == 200
    case = await _case(client, shop, tn)
    assert case["status"] == "held" and case["held_at_office"] == "IFN-01"
    tn2, path2 = await failed()
    html = await (await client.get(path2)).text()
    resp = await client.post(path2, data={"csrf": _csrf(html), "choice": "notes", "notes": "واحد ۴، طبقهٔ دوم"})
    assert resp.status == 200
    case = await _case(client, shop, tn2)
    assert case["status"] == "reattempt" and case["contact"]["address_notes"] == "واحد ۴، طبقهٔ دوم"


async def test_forged_expired_csrf_and_bad_day_change_nothing(client, shop, failed, sms):
    tn, path = await failed()
    token = path.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    resp = await client.get(f"/s/{forged}")
    assert resp.status == 403 and "معتبر نیست" in await resp.text()
    secret = sms.settings.link_secret
    old = links.sign(secret, shop.id, tn, 60, now=time.time() - 3600)
    resp = await client.get(f"/s/{old}")
    assert resp.status == 410 and "مهلت" in await resp.text()
    resp = await client.post(f"/s/{old}", data={"csrf": links.csrf_token(secret, old), "choice": "hold"})
    assert resp.status == 410
    resp = await client.post(path, data={"csrf": "x" * 22, "choice": "hold"})
    assert resp.status == 403 and "فرم" in await resp.text()
    html = await (await client.get(path)).text()
    resp = await client.post(path, data={"csrf": _csrf(html), "choice": "day:2001-01-01"})
    assert resp.status == 422 and "قابل انتخاب نیست" in await resp.text()
    case = await _case(client, shop, tn)
    assert case["status"] == "open" and case["actions"] in ([], {})
    # another parcel's link does not open this one's case: the token names its own parcel
    assert links.verify(secret, token)[0].tracking_number == tn


async def test_a_parcel_sent_back_gets_no_link(failed):
    _, path = await failed("receiver_refused")
    assert path is None


@pytest.mark.sms_policy(page_rate_per_s=0.01, page_burst=3)
async def test_page_is_rate_limited_per_address(client, failed):
    _, path = await failed()
    statuses = [(await client.get(path)).status for _ in range(6)]
    assert statuses[0] == 200 and statuses[-1] == 429
    resp = await client.get(path)
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1 and "بیش از حد" in await resp.text()


@needs_chromium
async def test_buyer_reschedules_from_the_sms_link_in_headless_chromium(client, shop, failed):
    from selenium.webdriver.common.by import By

    tn, path = await failed()
    url = str(client.make_url(path))

    def use() -> dict:
        driver = phone_driver(360, 740)
        try:
            driver.get(url)
            seen = {
                "direction": driver.execute_script("return getComputedStyle(document.body).direction"),
                "overflow": driver.execute_script(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth"),
                "resources": driver.execute_script("return performance.getEntriesByType('resource').length"),
            }
            day = driver.find_elements(By.CSS_SELECTOR, "input[name=choice][value^='day:']")[0]
            seen["day"] = day.get_attribute("value")[4:]
            day.find_element(By.XPATH, "..").click()  # tap the label, as a thumb would
            driver.find_element(By.ID, "notes").send_keys("کنار داروخانه")
            driver.find_element(By.CSS_SELECTOR, "#choose button[type=submit]").click()
            seen["done"] = driver.find_element(By.ID, "done").text
            return seen
        finally:
            driver.quit()

    seen = await asyncio.get_running_loop().run_in_executor(None, use)
    assert seen["direction"] == "rtl" and seen["overflow"] <= 0 and seen["resources"] == 0
    assert "انتخاب شما ثبت شد" in seen["done"]
    case = await _case(client, shop, tn)
    assert case["status"] == "rescheduled" and case["scheduled_for"] == seen["day"]
    assert case["contact"]["address_notes"] == "کنار داروخانه"
