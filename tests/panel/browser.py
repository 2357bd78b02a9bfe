"""The panel's browser tests use the shared Chromium helpers (tests/browser.py); here only the panel's sign-in."""

from __future__ import annotations

import os
from pathlib import Path

from tests.browser import PHONE, needs_chromium, phone_driver, screenshot, wait  # noqa: F401  (the panel tests' names)

chrome = phone_driver


def screens_dir(tmp_path: Path) -> Path:
    """Where a test's screenshots go: PANEL_SCREENS_DIR when set (docs/screens/ was made so), else the test's
    directory."""
    out = Path(os.environ.get("PANEL_SCREENS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def sign_in(driver, base: str, mobile: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/shop/login")
    driver.find_element(By.ID, "mobile").send_keys(mobile)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.current_url.endswith("/shop/parcels"))
