"""The Kavenegar client against the local server that speaks Kavenegar's API; the signed links; quiet hours."""

from __future__ import annotations

from datetime import datetime

import pytest

from notify import links
from notify.fake_kavenegar import STATE
from notify.policy import TEHRAN, load_policy
from notify.provider import Kavenegar, ProviderError

from .conftest import API_KEY


@pytest.fixture
async def kavenegar(fake):
    client = Kavenegar(str(fake.make_url("")), API_KEY, "10008663")
    yield client
    await client.close()


async def test_send_gives_the_receipt_and_a_repeated_local_id_is_not_sent_again(kavenegar, fake):
    first = await kavenegar.send("09121112233", "سلام ۱۲۳", "evt_X_1|09121112233")
    again = await kavenegar.send("09121112233", "سلام ۱۲۳", "evt_X_1|09121112233")
    assert first == again and first.provider == "kavenegar" and first.status == 1 and first.cost == 1200
    [entry] = fake.app[STATE]["sent"]
    assert entry["message"] == "سلام ۱۲۳" and entry["sender"] == "10008663" and entry["localid"].isdigit()


@pytest.mark.parametrize("status, permanent", [(418, False), (409, False), (411, True), (412, True)])
async def test_provider_statuses_say_whether_a_retry_can_help(kavenegar, fake, status, permanent):
    fake.app[STATE]["fail"] = {"times": 1, "status": status}
    with pytest.raises(ProviderError) as err:
        await kavenegar.send("09121112233", "متن", "a|b")
    assert err.value.status == status and err.value.permanent is permanent and err.value.message


async def test_a_wrong_api_key_and_a_bad_receptor_are_permanent(fake):
    wrong = Kavenegar(str(fake.make_url("")), "not-the-key", "")
    try:
        with pytest.raises(ProviderError) as err:
            await wrong.send("09121112233", "متن", "a|c")
        assert err.value.status == 403 and err.value.permanent
    finally:
        await wrong.close()
    right = Kavenegar(str(fake.make_url("")), API_KEY, "")
    try:
        with pytest.raises(ProviderError) as err:
            await right.send("12", "متن", "a|d")
        assert err.value.status == 411 and err.value.permanent
    finally:
        await right.close()


async def test_no_answer_is_retried():
    nowhere = Kavenegar("http://127.0.0.1:9", "k", "", timeout_s=2)
    try:
        with pytest.raises(ProviderError) as err:
            await nowhere.send("09121112233", "متن", "a|e")
        assert not err.value.permanent and err.value.status == 0
    finally:
        await nowhere.close()


def test_links_are_signed_bound_to_their_parcel_and_expire():
    secret = b"s" * 32
    token = links.sign(secret, 42, "EP000000014IR", 3600, now=1_000_000)
    link, why = links.verify(secret, token, now=1_000_000 + 10)
    assert why == "" and (link.shop_id, link.tracking_number) == (42, "EP000000014IR")
    assert links.verify(secret, token, now=1_000_000 + 3601) == (None, "expired")
    assert links.verify(b"t" * 32, token, now=1_000_000)[1] == "forged"
    other = token.replace("EP000000014IR", "EP000000028IR")
    assert links.verify(secret, other, now=1_000_000)[1] == "forged"
    assert links.csrf_ok(secret, token, links.csrf_token(secret, token))
    assert not links.csrf_ok(secret, token, links.csrf_token(secret, links.sign(secret, 42, "EP000000014IR", 60)))


def test_quiet_hours_end_in_the_tehran_morning():
    policy = load_policy()
    night = datetime(2030, 1, 5, 23, 15, tzinfo=TEHRAN).timestamp()
    dawn = datetime(2030, 1, 6, 6, 0, tzinfo=TEHRAN).timestamp()
    day = datetime(2030, 1, 6, 10, 0, tzinfo=TEHRAN).timestamp()
    morning = datetime(2030, 1, 6, 8, 0, tzinfo=TEHRAN).timestamp()
    assert policy.next_allowed(night) == morning and policy.next_allowed(dawn) == morning
    assert policy.next_allowed(day) == day
