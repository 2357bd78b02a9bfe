"""The panel's browser tests use the shared Chromium helpers (tests/browser.py); here only the panel's sign-in."""

from __future__ import annotations

from tests.browser import PHONE, needs_chromium, phone_driver, screenshot, wait  # noqa: F401  (the panel tests' names)

chrome = phone_driver


def sign_in(driver, base: str, mobile: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/shop/login")
    driver.find_element(By.ID, "mobile").send_keys(mobile)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.current_url.endswith("/shop/parcels"))
