"""Headless Chromium for the panel's browser tests (Debian's chromium and chromium-driver, as the tracking page's
test finds them), and the sign-in every browser test starts with."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (390, 844)  # a common phone viewport (CSS px)

needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM) or not shutil.which(CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver packages (apt-get install chromium chromium-driver)")


def chrome(width: int = PHONE[0], height: int = PHONE[1]):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=fa-IR",
                f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_window_size(width, height)
    return driver


def wait(driver, condition, timeout: float = 15.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def sign_in(driver, base: str, mobile: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/shop/login")
    driver.find_element(By.ID, "mobile").send_keys(mobile)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.current_url.endswith("/shop/parcels"))


def screenshot(driver, path) -> None:
    """The whole page at the phone's width (the window grows to the page's height for the picture)."""
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    driver.execute_script("window.scrollTo(0, 0)")
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(height, full))
    driver.save_screenshot(str(path))
    driver.set_window_size(width, height)
