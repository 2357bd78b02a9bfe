"""The panel's accounts and sessions, and the shop API taking a panel session as its caller."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.web_app import create_app
from kernel.settings import Config, PanelConfig
from kernel.store import keys
from tests.conftest import shipment_body, stored_parcels
from tracking.ratelimit import client_key

from .conftest import PASSWORD, new_mobile, sign_in

ROOT = Path(__file__).resolve().parents[2]


def _cli(env: dict, *args: str, stdin: str | None = None) -> dict:
    out = subprocess.run([sys.executable, "-m", "gateway", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=60, input=stdin)
    assert out.returncode == 0, out.stderr + out.stdout
    return json.loads(out.stdout)


async def test_the_cli_adds_users_with_a_one_time_or_given_password_kept_only_as_argon2(
        store_url, tmp_path, shop, redis, app_client):
    env = {**os.environ, "REDIS_URL": store_url, "BARID_DATA": str(tmp_path)}
    owner, staff = new_mobile(), new_mobile()
    made = _cli(env, "shops", "add-user", "--shop", str(shop.id), "--mobile", owner, "--role", "owner")
    assert made["mobile"] == owner and made["role"] == "owner" and len(made["one_time_password"]) >= 10
    given = _cli(env, "shops", "add-user", "--shop", str(shop.id), "--mobile", staff, "--role", "staff",
                 "--password-stdin", stdin=PASSWORD + "\n")
    assert "one_time_password" not in given
    stored = await redis.hget(keys.panel_user(shop.id, owner), "pw")
    assert stored.startswith(b"$argon2id$") and made["one_time_password"].encode() not in stored
    answer, csrf = await sign_in(app_client, owner, made["one_time_password"])
    assert answer.status == 303 and answer.headers["Location"] == "/shop/parcels" and csrf
    app_client.session.cookie_jar.clear()
    assert (await sign_in(app_client, staff))[1]


async def test_a_session_of_shop_a_cannot_read_shop_b_parcels(app_client, make_shop, add_user):
    a, b = await make_shop("A"), await make_shop("B")
    booked_b = await (await app_client.post("/v1/shipments", json=shipment_body(), headers=b.headers)).json()
    booked_a = await (await app_client.post("/v1/shipments", json=shipment_body(), headers=a.headers)).json()
    await sign_in(app_client, await add_user(a.id))
    other = await app_client.get(f"/v1/shipments/{booked_b['tracking_number']}")
    assert other.status == 404 and (await other.json())["code"] == "shipment_not_found"
    label = await app_client.get(f"/v1/shipments/{booked_b['tracking_number']}/label")
    assert label.status == 404
    own = await app_client.get(f"/v1/shipments/{booked_a['tracking_number']}")
    assert own.status == 200
    listed = await (await app_client.get("/v1/shipments")).json()
    assert [s["tracking_number"] for s in listed["items"]] == [booked_a["tracking_number"]]


async def test_a_change_without_the_csrf_header_is_refused_403_and_changes_nothing(app_client, shop, add_user, redis):
    _, csrf = await sign_in(app_client, await add_user(shop.id, "staff"))
    before = await stored_parcels(redis, shop.id)
    refused = await app_client.post("/v1/shipments", json=shipment_body())
    assert refused.status == 403 and refused.content_type == "application/problem+json"
    problem = await refused.json()
    assert problem["code"] == "csrf_failed" and "CSRF" in problem["detail_fa"]
    wrong = await app_client.post("/v1/shipments", json=shipment_body(), headers={"X-CSRF-Token": csrf[:-2] + "00"})
    assert wrong.status == 403
    assert await stored_parcels(redis, shop.id) == before
    booked = await app_client.post("/v1/shipments", json=shipment_body(), headers={"X-CSRF-Token": csrf})
    assert booked.status == 201 and await stored_parcels(redis, shop.id) == before + 1


async def test_a_staff_user_cannot_manage_keys_webhooks_or_users_and_the_owner_can(app_client, shop, add_user):
    _, csrf = await sign_in(app_client, await add_user(shop.id, "staff"))
    h = {"X-CSRF-Token": csrf}
    for method, path in (("POST", "/v1/shop/api-key/rotate"), ("GET", "/v1/webhooks"), ("GET", "/v1/shop/users"),
                         ("POST", "/v1/shop/users")):
        r = await app_client.request(method, path, headers=h, json={"mobile": new_mobile(), "role": "owner"})
        assert r.status == 403 and (await r.json())["code"] == "shop_manager_only", path
    page = await app_client.get("/shop/settings")
    assert page.status == 403 and "فقط برای مالک" in await page.text()
    app_client.session.cookie_jar.clear()
    _, csrf = await sign_in(app_client, await add_user(shop.id, "owner"))
    rotated = await app_client.post("/v1/shop/api-key/rotate", headers={"X-CSRF-Token": csrf})
    assert rotated.status == 200
    new_key = (await rotated.json())["api_key"]
    app_client.session.cookie_jar.clear()
    assert (await app_client.get("/v1/shipments", headers={"Authorization": f"Bearer {new_key}"})).status == 200
    # the API key itself manages users (a shop's backend has every right), and the invitee can sign in
    invited = await (await app_client.post("/v1/shop/users", json={"mobile": new_mobile(), "role": "staff"},
                                           headers=shop.headers)).json()
    assert (await sign_in(app_client, invited["mobile"], invited["one_time_password"]))[1]


async def test_sign_in_failures_look_alike_and_attempts_are_rate_limited(aiohttp_client, store_url, tmp_path, shop,
                                                                         add_user, redis):
    config = Config(data_dir=tmp_path, access_log=False, panel=PanelConfig(login_burst=2, login_period_s=600))
    client = await aiohttp_client(create_app(config, store_url))
    mobile = await add_user(shop.id)
    stranger = new_mobile()
    wrong, _ = await sign_in(client, mobile, "not the password")
    unknown, _ = await sign_in(client, stranger, "not the password")
    assert wrong.status == unknown.status == 401
    assert "شمارهٔ همراه یا گذرواژه نادرست است" in await wrong.text()
    # the two pages differ only by the mobile echoed back into the form
    assert (await wrong.text()).replace(mobile, "M") == (await unknown.text()).replace(stranger, "M")
    await sign_in(client, mobile, "still not the password")
    limited, _ = await sign_in(client, mobile)  # the right password, but the mobile's attempts are spent
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
    assert "تلاش برای ورود بیش از حد مجاز" in await limited.text()
    # this address's slow budget would refuse the other tests' sign-ins (all from 127.0.0.1): give it back
    await redis.delete(keys.panel_login_rate("ip", client_key("127.0.0.1").rsplit(":", 1)[1]))


async def test_sign_out_and_removal_end_sessions_at_once_and_cookies_are_strict(app_client, shop, add_user, redis):
    mobile = await add_user(shop.id)
    answer, csrf = await sign_in(app_client, mobile)
    cookie = answer.cookies["barid_panel"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/" and not cookie["secure"]
    secret = cookie.value.partition(".")[2]
    assert not [k for k in await redis.smembers(keys.panel_user_sessions(shop.id, mobile)) if secret.encode() in k]
    out = await app_client.post("/shop/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    app_client.session.cookie_jar.update_cookies({"barid_panel": cookie.value})
    gone = await app_client.get("/v1/shipments")
    assert gone.status == 401 and (await gone.json())["code"] == "panel_session_invalid"
    assert (await app_client.get("/shop/parcels", allow_redirects=False)).headers["Location"] == "/shop/login"
    _, csrf = await sign_in(app_client, mobile)
    removed = await app_client.delete(f"/v1/shop/users/{mobile}", headers=shop.headers)
    assert removed.status == 204
    assert (await app_client.get("/v1/shipments")).status == 401


async def test_the_panel_cookies_are_secure_behind_https(aiohttp_client, store_url, tmp_path):
    config = Config(data_dir=tmp_path, access_log=False, public_url="https://post.example",
                    panel=PanelConfig(login_burst=1000, login_period_s=0.01))
    client = await aiohttp_client(create_app(config, store_url))
    form = await client.get("/shop/login")
    pre = form.cookies["barid_panel_pre"]  # set as the session cookie is (one helper), so a browser keeps it for https
    assert pre["secure"] and pre["httponly"] and pre["samesite"] == "Strict"


async def test_a_session_booking_cod_without_a_verified_account_is_the_policy_s_422(app_client, make_shop, add_user):
    """The COD policy re-reads the shop before it refuses; a panel session must be re-read as a session (not as
    an API key it never had), so the user sees the policy's reason, not a 401."""
    unverified = await make_shop("no-sheba", bank=None)
    _, csrf = await sign_in(app_client, await add_user(unverified.id))
    refused = await app_client.post("/v1/shipments", json=shipment_body(), headers={"X-CSRF-Token": csrf})
    assert refused.status == 422 and (await refused.json())["code"] == "cod_requires_verified_sheba"
    prepaid = {**shipment_body(), "payment": {"type": "prepaid"}}
    booked = await app_client.post("/v1/shipments", json=prepaid, headers={"X-CSRF-Token": csrf})
    assert booked.status == 201
