"""The staff app's bundled barcode reader and the supervisor's screen, in headless Chromium at phone width.

Headless Chromium on Linux has no BarcodeDetector, so the camera goes through the bundled reader (``?decoder=zxing``
forces it where the browser has one): a fake camera shows a real label PNG from handover, and the tracking number
lands in the scan field. A supervisor issues a sign-in code for a colleague, sees the office's devices and signs one
out. Screenshots go to docs/screens/ when BARID_SCREENS=1.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import os
from pathlib import Path

import segno

from kernel.postal.offices import load_registry
from kernel.postal.text import fa_digits, normalize_digits
from staffapp import sessions
from staffapp.web import DECODER, DECODER_FILES
from tests.browser import (
    ONLINE,
    axe_serious,
    fake_camera,
    first_paint,
    needs_chromium,
    network,
    phone_driver,
    screenshot,
    unlabelled,
    until,
)
from tests.staffapp.conftest import OFFICE_A

ROOT = Path(__file__).resolve().parents[2]


def _screens(tmp_path: Path) -> Path:
    out = ROOT / "docs" / "screens" if os.environ.get("BARID_SCREENS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


def _sign_in(driver, url: str, staff_id: int, code: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    until(driver, "return !document.getElementById('signin').hidden")
    driver.find_element(By.ID, "staff-id").send_keys(str(staff_id))
    driver.find_element(By.ID, "code").send_keys(code)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    until(driver, "return !document.getElementById('scan').hidden")


def test_the_bundled_reader_ships_with_its_licences_and_is_measured_apart():
    assert (DECODER / "LICENSE-zxing-wasm.txt").read_text().startswith("MIT License")
    assert "Apache License" in (DECODER / "LICENSE-zxing-cpp.txt").read_text()
    sizes = {name: len(gzip.compress((DECODER / name).read_bytes(), 9)) for name in DECODER_FILES}
    print(f"\nbundled barcode reader, loaded only without BarcodeDetector, gzipped: {sum(sizes.values())} bytes {sizes}")
    assert sum(sizes.values()) < 600 * 1024


@needs_chromium
async def test_without_barcode_detector_the_bundled_reader_reads_a_label_from_the_camera(client, redis, shop, book,
                                                                                          make_member, tmp_path):
    tn = await book(shop)
    label = await client.get(f"/v1/shipments/{tn}/label?format=png", headers=shop.headers)
    assert label.status == 200, await label.text()
    png = await label.read()
    member = await make_member(OFFICE_A)
    code = (await sessions.issue_code(redis, load_registry(), OFFICE_A, member.staff_id, 600))["code"]
    url = str(client.make_url("/staff")) + "?decoder=zxing"
    manifest_id = "M12X0A1B2C3D4"
    qr_png = io.BytesIO()
    segno.make_qr(manifest_id, error="m").save(qr_png, kind="png", scale=8, border=4)
    qr = "data:image/png;base64," + base64.b64encode(qr_png.getvalue()).decode()
    args = fake_camera(png, tmp_path / "label.y4m")

    def drive() -> dict:
        from selenium.webdriver.common.by import By

        d = phone_driver(args=args)
        try:
            _sign_in(d, url, member.staff_id, code)
            seen = {"loaded_before": d.execute_script(
                "return performance.getEntriesByType('resource').some((r) => r.name.includes('/staff/decoder/'))"),
                "native": d.execute_script("return 'BarcodeDetector' in window")}
            d.find_element(By.ID, "camera-btn").click()
            seen["tn"] = until(d, "return document.getElementById('tn').value", 40)
            seen["note"] = d.find_element(By.ID, "camera-note").text
            seen["stopped"] = d.find_element(By.ID, "camera").get_attribute("hidden") is not None
            # the same reader on still pictures: a QR code (a manifest number) and the label itself
            seen["read"] = d.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "const pic = (src) => new Promise((ok) => { const i = new Image(); i.onload = () => ok(i); i.src = src; });"
                "BaridDecoder.detector().then(async (det) => done({"
                "  qr: await det.detect(await pic(arguments[0])),"
                "  label: await det.detect(await pic(arguments[1]))}));",
                qr, "data:image/png;base64," + base64.b64encode(png).decode())
            return seen
        finally:
            d.quit()

    seen = await asyncio.get_running_loop().run_in_executor(None, drive)
    assert not seen["loaded_before"]  # nothing of the reader is fetched before the camera is asked for
    assert seen["tn"] == tn and seen["stopped"] and tn in seen["note"]
    assert seen["read"]["qr"] == [{"rawValue": manifest_id, "format": "QRCode"}]
    label_codes = {(r["format"], r["rawValue"]) for r in seen["read"]["label"]}
    assert ("Code128", tn) in label_codes and any(f == "QRCode" and v.endswith(f"/track/{tn}") for f, v in label_codes)


@needs_chromium
async def test_a_supervisor_issues_a_code_and_signs_a_device_out(client, redis, make_member, sign_in, tmp_path):
    from selenium.webdriver.common.by import By

    supervisor = await make_member(OFFICE_A, "supervisor")
    postman = await make_member(OFFICE_A)
    postman_cookie, _ = await sign_in(postman)  # the postman's phone, signed in
    code = (await sessions.issue_code(redis, load_registry(), OFFICE_A, supervisor.staff_id, 600))["code"]
    url = str(client.make_url("/staff"))
    screens = _screens(tmp_path)
    postman_sid = next(s["session_id"] for s in await sessions.list_sessions(redis, [postman.staff_id]))

    def drive() -> dict:
        d = phone_driver()
        try:
            _sign_in(d, url, supervisor.staff_id, code)
            d.find_element(By.ID, "tab-supervisor").click()
            until(d, f"return document.querySelector(\"#sessions li[data-session-id='{postman_sid}']\")")
            seen = {"rows": [li.text for li in d.find_elements(By.CSS_SELECTOR, "#sessions li")]}
            d.find_element(By.ID, "code-staff").send_keys(str(postman.staff_id))
            d.find_element(By.CSS_SELECTOR, "#code-form button[type=submit]").click()
            seen["code"] = until(d, "return document.getElementById('issued-code')?.textContent")
            seen["unlabelled"], seen["axe"] = unlabelled(d), axe_serious(d)
            screenshot(d, screens / "staff-supervisor.png")
            d.find_element(By.CSS_SELECTOR, f"#sessions li[data-session-id='{postman_sid}'] button").click()
            d.switch_to.alert.accept()
            until(d, f"return !document.querySelector(\"#sessions li[data-session-id='{postman_sid}']\")")
            seen["said"] = d.find_element(By.ID, "sessions-note").text
            seen["fcp"] = first_paint(d, url)  # the page as a supervisor opens it, on a slow mobile network
            until(d, "return document.documentElement.dataset.ready === '1'")
            seen["tab_shown"] = d.find_element(By.ID, "tab-supervisor").is_displayed()
            network(d, ONLINE)
            return seen
        finally:
            d.quit()

    seen = await asyncio.get_running_loop().run_in_executor(None, drive)
    print(f"\nstaff app (supervisor) first contentful paint on slow 4G: {seen['fcp']:.0f} ms")
    # the office's devices (other tests' staff of this office too): the supervisor's own marked, the postman's
    assert any("(خودتان)" in r for r in seen["rows"]) and any(f"کارمند {fa_digits(postman.staff_id)}\n" in r
                                                              for r in seen["rows"])
    assert not seen["unlabelled"] and not seen["axe"], (seen["unlabelled"], seen["axe"])
    assert "خارج شد" in seen["said"] and seen["tab_shown"] and 0 < seen["fcp"] <= 1000
    # the revoked phone is signed out at once; the code shown signs the postman in on a new one
    assert (await client.get("/staff/api/me", headers=postman_cookie)).status == 401
    issued = normalize_digits(seen["code"])
    resp = await client.post("/staff/api/sign-in", json={"staff_id": postman.staff_id, "code": issued})
    assert resp.status == 201 and (await resp.json())["role"] == "staff"


@needs_chromium
async def test_staff_who_are_not_supervisors_see_no_supervisor_screen(client, redis, make_member):
    member = await make_member(OFFICE_A)
    code = (await sessions.issue_code(redis, load_registry(), OFFICE_A, member.staff_id, 600))["code"]
    url = str(client.make_url("/staff"))

    def drive() -> tuple[bool, list]:
        d = phone_driver()
        try:
            _sign_in(d, url, member.staff_id, code)
            return d.execute_script("return document.getElementById('tab-supervisor').hidden"), axe_serious(d)
        finally:
            d.quit()

    hidden, axe = await asyncio.get_running_loop().run_in_executor(None, drive)
    assert hidden and not axe, axe  # the scan screen passes axe-core too


async def test_the_session_says_its_members_role_as_it_is_now(client, redis, make_member, sign_in):
    member = await make_member(OFFICE_A)
    cookie, _ = await sign_in(member)
    assert (await (await client.get("/staff/api/me", headers=cookie)).json())["role"] == "staff"
    await sessions.set_role(redis, member.staff_id, "supervisor")  # promoted: the open session sees it at once
    assert (await (await client.get("/staff/api/me", headers=cookie)).json())["role"] == "supervisor"
    resp = await client.get(f"/v1/offices/{OFFICE_A}/staff-sessions", headers=cookie)
    assert resp.status == 200 and any(s["staff_id"] == member.staff_id for s in (await resp.json())["data"])
