"""Notification fixtures: the real gateway app with the notify feature mounted (its worker off, so each test runs
it when it wants), the local Kavenegar server it sends through, and parcels moved by real staff scans."""

from __future__ import annotations

import dataclasses
import itertools
import random
import time
from datetime import datetime

import pytest

from gateway.web_app import create_app
from kernel.settings import Config
from notify.appkeys import SMS, SMS_POLICY, SMS_SETTINGS
from notify.fake_kavenegar import STATE, make_app
from notify.policy import TEHRAN, SmsPolicy, load_policy
from notify.selfservice import page_limit_key
from notify.sender import SmsService
from notify.settings import NotifySettings
from returns import web as returns_web
from tests.returns.conftest import OFFICE, move
from tests.routing.office_flow import Staff, book, isfahan, to_office
from tests.tracking.conftest import tcfg  # noqa: F401  (fixture)
from tracking import web as tracking_web

API_KEY = "test-kavenegar-key"
_n = itertools.count()


def new_phone() -> str:
    """A mobile number no other test books (opt-outs are per number, across shops and tests)."""
    return "0912" + f"{random.randrange(10**7):07d}"


@pytest.fixture
async def fake(aiohttp_server):
    return await aiohttp_server(make_app(API_KEY))


@pytest.fixture
def sent(fake):
    """What the local provider took, as Kavenegar's entries (with the localid)."""
    return fake.app[STATE]["sent"]


@pytest.fixture
def sms_settings(fake) -> NotifySettings:
    return NotifySettings(provider_url=str(fake.make_url("")).rstrip("/"), api_key=API_KEY, sender="10008663",
                          public_url="http://barid.test", link_secret=b"test-secret-" + bytes([7] * 20),
                          interval_s=0)


@pytest.fixture
def sms_policy(request) -> SmsPolicy:
    """The policy of the data file, with the changes a test's ``sms_policy`` marker names."""
    marker = request.node.get_closest_marker("sms_policy")
    return dataclasses.replace(load_policy(), **(marker.kwargs if marker else {}))


@pytest.fixture
async def client(aiohttp_client, store_url: str, tmp_path, tcfg, sms_settings, sms_policy, redis):  # noqa: F811
    app = create_app(Config(data_dir=tmp_path, access_log=False), store_url)
    app[tracking_web.TRACKING_CONFIG] = tcfg
    app[returns_web.NDR_SETTINGS] = returns_web.NdrSettings(interval_s=0)
    app[SMS_SETTINGS], app[SMS_POLICY] = sms_settings, sms_policy
    await redis.delete(page_limit_key("127.0.0.1"))  # each test starts with the page's whole budget
    return await aiohttp_client(app)


def tehran_noon_clock():
    """A clock that runs from noon, Tehran time, today: the tests run at any hour, SMS goes out only by day."""
    start = time.time()
    noon = datetime.now(TEHRAN).replace(hour=12, minute=0, second=0, microsecond=0).timestamp()
    return lambda: noon + (time.time() - start)


@pytest.fixture
def sms(client) -> SmsService:
    service = client.app[SMS]
    service.clock = tehran_noon_clock()
    return service


@pytest.fixture
def cases(client):
    return client.app[returns_web.CASES]


@pytest.fixture
def staff(redis) -> Staff:
    return Staff(redis)


@pytest.fixture
def turn_on(client, shop):
    async def turn_on(events: list[str], owner=None) -> dict:
        resp = await client.put("/v1/notifications", json={"events": events}, headers=(owner or shop).headers)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    return turn_on


@pytest.fixture
def parcel(client, shop, staff):
    """Book one parcel to Isfahan for a fresh buyer number; ``to_office`` also brings it to IFN-01."""
    async def make(phone: str | None = None, at_office: bool = False, owner=None) -> tuple[str, str]:
        phone = phone or new_phone()
        body = isfahan(next(_n))
        body["receiver"] = {**body["receiver"], "phone": phone}
        [doc] = await book(client, owner or shop, [body])
        if at_office:
            await move(client, staff, doc["tracking_number"], to_office(doc))
        return doc["tracking_number"], phone

    return make


@pytest.fixture
def scan(client, staff):
    async def scan(tn: str, *events: str, reason: str = "receiver_absent") -> None:
        await move(client, staff, tn, [(e, OFFICE) for e in events], reason=reason)

    return scan


def for_phone(sent: list[dict], phone: str) -> list[dict]:
    return [m for m in sent if m["receptor"] == phone]

