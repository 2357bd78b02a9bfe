"""Headless Chromium for every browser test (Debian's chromium and chromium-driver): a phone-sized driver, the
network profiles set through DevTools, the first-paint measurement, axe-core, and full-page screenshots.

Selenium is imported inside the functions, so a module that imports this one still loads (and its tests are skipped
with the reason) on a machine without the browser.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (390, 844)  # a common phone viewport (CSS px)
AXE = Path(__file__).parent / "panel" / "vendor" / "axe.min.js"  # test-only: never shipped with the apps

# Lighthouse's mobile profile ("slow 4G"): 150 ms round trips, 1.6 Mbit/s down, 750 kbit/s up.
SLOW_MOBILE = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
ONLINE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}

needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM) or not shutil.which(CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver packages (apt-get install chromium chromium-driver)")


def phone_driver(width: int = PHONE[0], height: int = PHONE[1], args: tuple[str, ...] = ()):
    """Headless Chromium with a phone's viewport, in Persian (``args``: more command-line switches)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=fa-IR",
                f"--window-size={width},{height}", "--force-device-scale-factor=1", *args):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_window_size(width, height)
    return driver


def fake_camera(frame_png: bytes, path: Path) -> tuple[str, ...]:
    """Switches that make Chromium's camera show ``frame_png`` (written to ``path`` as a Y4M clip) and grant it
    without asking: a page's getUserMedia then reads that picture, as a phone's camera held to it would."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(frame_png)).convert("RGB")
    w, h = img.width // 2 * 2, img.height // 2 * 2  # 4:2:0 needs even sides
    y, cb, cr = img.crop((0, 0, w, h)).convert("YCbCr").split()
    chroma = [c.resize((w // 2, h // 2)).tobytes() for c in (cb, cr)]
    frame = b"FRAME\n" + y.tobytes() + chroma[0] + chroma[1]
    path.write_bytes(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * 2)
    return ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={path}")


def wait(driver, condition, timeout: float = 15.0):
    """``condition(driver)`` once it is truthy (polled)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def until(driver, script: str, timeout: float = 15.0):
    """The value of a page script once it is truthy."""
    return wait(driver, lambda d: d.execute_script(script), timeout)


def network(driver, profile: dict, cache: bool = True) -> None:
    """Throttle (or cut, or restore) the page's network through DevTools."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": not cache})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", profile)


def first_paint(driver, url: str, profile: dict = SLOW_MOBILE) -> float:
    """Milliseconds from navigation to the first contentful paint of ``url`` on ``profile``, with no cache and past
    any service worker, as on a first visit (the driver keeps that profile afterwards; ``network(driver, ONLINE)``
    restores it)."""
    network(driver, profile, cache=False)
    driver.execute_cdp_cmd("Network.setBypassServiceWorker", {"bypass": True})
    driver.get(url)
    until(driver, "return performance.getEntriesByName('first-contentful-paint').length")
    return driver.execute_script("return performance.getEntriesByName('first-contentful-paint')[0].startTime")


def axe_serious(driver) -> list:
    """axe-core's serious and critical WCAG 2 A/AA violations on the current page: [id, impact, nodes]."""
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "var done = arguments[0]; axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})"
        ".then(function (r) { done(r.violations.map(function (v) {"
        " return [v.id, v.impact, v.nodes.length]; })); });")
    return [v for v in found if v[1] in ("serious", "critical")]


def unlabelled(driver) -> list[str]:
    """Form controls with no label (by <label> or aria-label)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))"
        ".filter(function (e) { return !e.labels.length && !e.getAttribute('aria-label'); })"
        ".map(function (e) { return e.id || e.name; })")


def overflow(driver) -> int:
    """How many CSS px the page is wider than the viewport (0 or less: nothing to scroll sideways)."""
    return driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")


def fetch_head(driver, href: str, n: int = 5) -> str:
    """The first ``n`` bytes of what the page's own fetch of ``href`` receives (with its cookies)."""
    return driver.execute_async_script(
        "var n = arguments[1], done = arguments[2]; fetch(arguments[0], {credentials: 'same-origin'})"
        ".then(function (r) { return r.arrayBuffer(); })"
        ".then(function (b) { done(String.fromCharCode.apply(null, new Uint8Array(b.slice(0, n)))); },"
        " function (e) { done('error: ' + e); });", href, n)


def screenshot(driver, path) -> None:
    """The whole page at the phone's width (the window grows to the page's height for the picture)."""
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    driver.execute_script("window.scrollTo(0, 0)")
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(height, full))
    driver.save_screenshot(str(path))
    driver.set_window_size(width, height)
