"""The panel's money screen in a real browser (headless Chromium): a shop user signs in, sees the COD balance and
the remittances with their Persian status, downloads the CSV lines and the PDF statement, and opens a dispute
(a Persian error beside the bad field first). The page passes axe and fits a phone's width.

Screenshots go to the test's directory, or to PANEL_SCREENS_DIR when set (docs/screens/money.png was made so)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from kernel.postal.timeutil import IRAN_TIME
from kernel.settings import Config, PanelConfig
from money.migrate import migrate
from tests.money.facts import NET, add_remittance, post_parcel, tn_of

from .browser import chrome, needs_chromium, screens_dir, screenshot, sign_in, wait
from .conftest import PASSWORD

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
# Lighthouse's mobile profile ("slow 4G"), as test_browser.py measures the other screens.
SLOW_MOBILE = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 // 8, "uploadThroughput": 750_000 // 8}


@pytest.fixture
async def config(tmp_path: Path, pg_dsn: str) -> Config:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return Config(data_dir=tmp_path, access_log=False, database_dsn=pg_dsn,
                  panel=PanelConfig(login_burst=1000, login_period_s=0.01))


def _files(folder: Path, suffix: str, timeout: float = 15.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if p.stat().st_size]
        if done:
            return done
        time.sleep(0.1)
    return []


@needs_chromium
async def test_a_shop_user_sees_the_balance_and_downloads_a_statement(app_client, shop, add_user, config, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    now = datetime.now(IRAN_TIME).replace(microsecond=0)
    conn = await asyncpg.connect(config.database_dsn)
    try:
        for i, days in ((1, 60), (2, 40)):
            await post_parcel(conn, shop.id, tn_of(100 + i), now - timedelta(days=days))
        await add_remittance(conn, shop.id, (now - timedelta(days=50)).date(), "paid",
                             [(tn_of(101), now - timedelta(days=60))])
    finally:
        await conn.close()
    mobile = await add_user(shop.id, "staff")
    base = str(app_client.make_url("/")).rstrip("/")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    screens = screens_dir(tmp_path)

    def run() -> dict:
        d = chrome()
        seen: dict = {}
        try:
            d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
            sign_in(d, base, mobile, PASSWORD)
            d.get(base + "/shop/money")
            seen["due"] = wait(d, lambda d: d.find_element(By.ID, "bal-due").text)
            seen["paid"] = d.find_element(By.ID, "bal-paid").text
            row = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#rems tr.rem"))[0]
            seen["row"] = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
            d.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})",
                             row.find_element(By.CSS_SELECTOR, "a.pdf"))
            row.find_element(By.CSS_SELECTOR, "a.pdf").click()
            pdfs = _files(downloads, ".pdf")
            seen["pdf"] = pdfs[0].read_bytes()[:5] if pdfs else b""
            row.find_element(By.CSS_SELECTOR, "a.csv").click()
            csvs = _files(downloads, ".csv")
            seen["csv"] = csvs[0].read_text() if csvs else ""

            d.find_element(By.ID, "d-tn").send_keys("EP12")
            Select(d.find_element(By.ID, "d-kind")).select_by_value("wrong_amount")
            d.find_element(By.CSS_SELECTOR, "#dispute button[type=submit]").click()
            seen["tn_error"] = wait(d, lambda d: d.find_element(By.ID, "d-tn-err").text)
            seen["amount_error"] = d.find_element(By.ID, "d-amount-err").text
            screenshot(d, screens / "money-dispute-error.png")
            d.find_element(By.ID, "d-tn").clear()
            d.find_element(By.ID, "d-tn").send_keys(tn_of(102))
            d.find_element(By.ID, "d-amount").send_keys("۹۹۰٬۰۰۰")
            d.find_element(By.CSS_SELECTOR, "#dispute button[type=submit]").click()
            seen["done"] = wait(d, lambda d: d.find_element(By.ID, "d-done").text)
            seen["hold"] = wait(d, lambda d: d.find_element(By.ID, "bal-hold").text)
            seen["disputes"] = wait(d, lambda d: d.find_element(By.CSS_SELECTOR, "#disputes li").text)
            screenshot(d, screens / "money.png")
            seen["overflow"] = d.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            d.execute_cdp_cmd("Network.enable", {})
            d.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
            d.execute_cdp_cmd("Network.emulateNetworkConditions", SLOW_MOBILE)
            d.get(base + "/shop/money")
            wait(d, lambda d: d.execute_script("return performance.getEntriesByName('first-contentful-paint').length"))
            seen["render_ms"] = d.execute_script(
                "return performance.getEntriesByName('first-contentful-paint')[0].startTime")
            d.execute_cdp_cmd("Network.emulateNetworkConditions", {**SLOW_MOBILE, "latency": 0,
                                                                   "downloadThroughput": -1, "uploadThroughput": -1})
            wait(d, lambda d: d.find_element(By.ID, "bal-due").text)
            d.execute_script(AXE.read_text())
            seen["axe"] = [v for v in d.execute_async_script(
                "var done = arguments[0]; axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})"
                ".then(function (r) { done(r.violations.map(function (v) { return [v.id, v.impact]; })); });")
                if v[1] in ("serious", "critical")]
        finally:
            d.quit()
        return seen

    seen = await asyncio.get_running_loop().run_in_executor(None, run)
    assert "۸۶۲" in seen["due"] and "۵۰۰" in seen["due"] and "ریال" in seen["due"]  # 862,500: Persian digits
    assert "۸۶۲" in seen["paid"]
    assert seen["row"][1].startswith("پرداخت‌شده") and "۸۶۲" in seen["row"][2]
    assert seen["pdf"] == b"%PDF-"
    assert seen["csv"].startswith("tracking_number,") and tn_of(101) in seen["csv"] and str(NET) in seen["csv"]
    assert "شمارهٔ رهگیری" in seen["tn_error"] and "مبلغ درست" in seen["amount_error"]
    assert "اعتراض ثبت شد" in seen["done"] and "۸۶۲" in seen["hold"] and tn_of(102) in seen["disputes"]
    assert seen["overflow"] <= 0 and seen["axe"] == []
    print("money screen, first contentful paint on a slow mobile network (ms):", round(seen["render_ms"]))
    assert seen["render_ms"] < 1000
