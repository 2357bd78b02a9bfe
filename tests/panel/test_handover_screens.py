"""The panel's pickup and manifest screens in headless Chromium at phone width: a pickup refused with the rule's
Persian message beside its field, then asked for, listed with its Persian status, changed and cancelled before the
cut-off; a manifest made from tracking numbers and one from a pickup, listed, each PDF downloaded, and a booking
day with nothing left to hand over refused in Persian.

Screenshots go to PANEL_SCREENS_DIR when set (docs/screens/pickups.png and manifests.png were made so).
"""

from __future__ import annotations

import asyncio

from panel.handover_forms import pickup_form
from tests.browser import fetch_head, overflow, screenshot, until
from tests.conftest import shipment_body

from .browser import chrome, needs_chromium, screens_dir, sign_in
from .conftest import PASSWORD


async def _book(client, shop, n: int) -> list[str]:
    tns = []
    for _ in range(n):
        resp = await client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
        assert resp.status == 201, await resp.text()
        tns.append((await resp.json())["tracking_number"])
    return tns


def test_the_form_offers_only_working_days_within_the_rules():
    form = pickup_form()
    assert form["pickup_days"] and len(form["pickup_days"]) <= 15
    assert not any("جمعه" in d["label"] for d in form["pickup_days"])  # Fridays are never offered
    times = [t["value"] for t in form["pickup_times"]]
    assert times[0] == "08:00" and times[-1] == "17:00" and (form["window_from"], form["window_to"]) == ("09:00", "12:00")


@needs_chromium
async def test_a_shop_asks_for_a_pickup_changes_and_cancels_it_in_chromium(app_client, shop, add_user, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    mobile = await add_user(shop.id, "staff")
    base = str(app_client.make_url("/")).rstrip("/")
    screens = screens_dir(tmp_path)

    def run() -> dict:
        d = chrome()
        seen: dict = {}
        try:
            sign_in(d, base, mobile, PASSWORD)
            d.get(base + "/shop/pickups")
            seen["days"] = [o.text for o in Select(d.find_element(By.ID, "p-date")).options]
            d.find_element(By.ID, "p-count").send_keys("۲")  # fewer than the rule's minimum
            d.find_element(By.ID, "pickup-submit").click()
            seen["count_error"] = until(d, "return document.getElementById('p-count-err').textContent")
            seen["top_error_hidden"] = d.find_element(By.ID, "form-error").get_attribute("hidden") is not None
            Select(d.find_element(By.ID, "p-to")).select_by_value("10:00")  # a window shorter than two hours
            count = d.find_element(By.ID, "p-count")
            count.clear()
            count.send_keys("۵")
            d.find_element(By.ID, "pickup-submit").click()
            seen["window_error"] = until(d, "return document.getElementById('p-window-err').textContent")
            Select(d.find_element(By.ID, "p-to")).select_by_value("12:00")
            d.find_element(By.ID, "p-notes").send_keys("زنگ واحد ۳")
            d.find_element(By.ID, "pickup-submit").click()
            seen["made"] = until(d, "return document.getElementById('pickup-code')?.textContent")
            until(d, "return document.querySelectorAll('#pickups .item').length === 1")
            seen["listed"] = d.find_element(By.CSS_SELECTOR, "#pickups .item").text
            screenshot(d, screens / "pickups.png")
            seen["overflow"] = overflow(d)

            d.find_element(By.XPATH, "//div[@id='pickups']//button[text()='ویرایش']").click()
            count = d.find_element(By.ID, "p-count")
            count.clear()
            count.send_keys("7")
            d.find_element(By.ID, "pickup-submit").click()
            seen["updated"] = until(d, "return document.getElementById('pickup-code')?.textContent")
            until(d, "return document.querySelector('#pickups .item')?.textContent.includes('۷ مرسوله')")
            d.find_element(By.XPATH, "//div[@id='pickups']//button[text()='لغو درخواست']").click()
            d.switch_to.alert.accept()
            until(d, "return document.querySelector('#pickups .item')?.textContent.includes('لغو شد')")
            seen["cancelled"] = d.find_element(By.CSS_SELECTOR, "#pickups .item").text
        finally:
            d.quit()
        return seen

    seen = await asyncio.get_running_loop().run_in_executor(None, run)
    assert seen["days"] and "جمعه" not in " ".join(seen["days"])
    assert "دست‌کم ۳ مرسوله" in seen["count_error"] and seen["top_error_hidden"]  # beside its field, not above
    assert "دست‌کم ۱۲۰ دقیقه" in seen["window_error"]
    assert "کد تأیید" in seen["made"] and "ثبت شده" in seen["listed"] and "۵ مرسوله" in seen["listed"]
    assert "به‌روز شد" in seen["updated"] and "لغو شد" in seen["cancelled"]
    assert seen["overflow"] <= 0
    listed = await (await app_client.get("/v1/pickups", headers=shop.headers)).json()
    [pickup] = listed["data"]
    assert (pickup["status"], pickup["expected_count"], pickup["window"]) == ("cancelled", 7, {"from": "09:00",
                                                                                             "to": "12:00"})
    assert pickup["instructions"] == "زنگ واحد ۳"


@needs_chromium
async def test_a_shop_makes_manifests_lists_them_and_downloads_the_pdf_in_chromium(app_client, shop, add_user,
                                                                                    tmp_path):
    from selenium.webdriver.common.by import By

    tns = await _book(app_client, shop, 4)
    day = pickup_form()["pickup_days"][0]["value"]
    asked = await app_client.post("/v1/pickups", headers=shop.headers, json={
        "date": day, "window": {"from": "09:00", "to": "12:00"}, "expected_count": 3})
    assert asked.status == 201, await asked.text()
    pickup_id = (await asked.json())["pickup_id"]
    mobile = await add_user(shop.id)
    base = str(app_client.make_url("/")).rstrip("/")
    screens = screens_dir(tmp_path)

    def run() -> dict:
        d = chrome()
        seen: dict = {}
        try:
            sign_in(d, base, mobile, PASSWORD)
            d.get(base + "/shop/manifests")
            d.find_element(By.ID, "m-tns").send_keys("EE000000000IR")  # not a parcel of this shop
            d.find_element(By.CSS_SELECTOR, "#mf button[type=submit]").click()
            seen["tn_error"] = until(d, "return document.getElementById('m-tns-err').textContent")
            box = d.find_element(By.ID, "m-tns")
            box.clear()
            box.send_keys("\n".join(t.lower() for t in tns[:2]))
            d.find_element(By.CSS_SELECTOR, "#mf button[type=submit]").click()
            seen["made"] = until(d, "return document.getElementById('mf-made')?.textContent")
            seen["pdf"] = fetch_head(d, d.find_element(By.CSS_SELECTOR, "#mf-done a.pdf").get_attribute("href"))

            d.get(base + f"/shop/manifests?pickup={pickup_id}")  # from the pickup's own link
            until(d, f"return document.getElementById('m-pickup').value === '{pickup_id}'"
                     " && document.getElementById('by-pickup').checked")
            d.find_element(By.CSS_SELECTOR, "#mf button[type=submit]").click()
            seen["from_pickup"] = until(d, "return document.getElementById('mf-made')?.textContent")

            d.find_element(By.CSS_SELECTOR, "label[for=by-date]").click()  # today: nothing is left waiting
            d.find_element(By.CSS_SELECTOR, "#mf button[type=submit]").click()
            seen["empty"] = until(d, "return !document.getElementById('form-error').hidden"
                                     " && document.getElementById('form-error').textContent")
            until(d, "return document.querySelectorAll('#mfs .item').length === 2")
            seen["listed"] = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#mfs .item")]
            seen["listed_pdf"] = fetch_head(d, d.find_elements(By.CSS_SELECTOR, "#mfs .item a.pdf")[1]
                                            .get_attribute("href"))
            screenshot(d, screens / "manifests.png")
        finally:
            d.quit()
        return seen

    seen = await asyncio.get_running_loop().run_in_executor(None, run)
    assert "EE000000000IR" in seen["tn_error"] and "یافت نشد" in seen["tn_error"]
    assert "۲ مرسوله" in seen["made"] and seen["pdf"] == "%PDF-" and seen["listed_pdf"] == "%PDF-"
    assert "۲ مرسوله" in seen["from_pickup"]  # the pickup's: every parcel still waiting
    assert "مرسوله‌ای ثبت نشده" in seen["empty"]
    assert "از درخواست جمع‌آوری" in seen["listed"][0] and "۲ مرسوله" in seen["listed"][1]  # newest first
    assert all("باز، در انتظار تحویل" in text for text in seen["listed"])
    made = (await (await app_client.get("/v1/manifests", headers=shop.headers)).json())["data"]
    assert [m.get("pickup_id") for m in made] == [pickup_id, None]
