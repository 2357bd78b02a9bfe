"""The SMS add-on's price: a line of the quote and the booking, from the tariff data, only while the shop has SMS
on; priced by the one tariff kernel, the compiled one and its pure-Python source alike."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel import _tariff_py
from kernel.postal.tariff import ZONES, Tariff
from tests.conftest import shipment_body


@pytest.fixture(params=["compiled", "python"])
def table_type(request):
    if request.param == "python":
        return _tariff_py.PriceTable
    try:
        return importlib.import_module("kernel._tariff_c").PriceTable
    except ImportError:
        pytest.skip("the gateway's kernels are not built")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(service=st.sampled_from(["pishtaz", "sefareshi", "nope"]), weight=st.integers(-10, 40_000),
       zone=st.sampled_from([*ZONES, "abroad"]), cod=st.one_of(st.none(), st.integers(-1, 10**11)),
       declared=st.one_of(st.none(), st.integers(-1, 10**11)), sms=st.booleans())
def test_both_kernels_price_the_sms_line_alike(table_type, service, weight, zone, cod, declared, sms):
    tariff = Tariff.load()
    args = (service, weight, zone, cod, declared, sms)
    answer = tariff.price_table(table_type).quote(*args)
    assert answer == tariff.price_table(_tariff_py.PriceTable).quote(*args)
    if isinstance(answer, dict):
        without = tariff.price_table(table_type).quote(*args[:5])
        assert ("sms" in answer) is sms and "sms" not in without
        if sms:
            assert answer["sms"] == tariff.sms_fee > 0
            net = answer["base"] + answer["cod_fee"] + answer["insurance"] + answer["sms"]
            assert answer["total"] == net + answer["vat"] and answer["vat"] == (net * 1000 + 5000) // 10_000


async def test_quote_and_booking_carry_the_sms_fee_only_while_sms_is_on(client, shop, turn_on):
    body = shipment_body()
    before = (await (await client.post("/v1/quotes", json=body, headers=shop.headers)).json())["price"]
    assert "sms" not in before
    await turn_on(["delivered"])
    quoted = (await (await client.post("/v1/quotes", json=body, headers=shop.headers)).json())["price"]
    fee = Tariff.load().sms_fee
    assert quoted["sms"] == fee and quoted["total"] > before["total"]
    assert quoted["total"] - before["total"] == fee + (quoted["vat"] - before["vat"])
    booked = await client.post("/v1/shipments", json=shipment_body(client_order_id="SMS-PRICE-1"),
                               headers=shop.headers)
    assert booked.status == 201, await booked.text()
    assert (await booked.json())["price"]["sms"] == fee
    await turn_on([])
    again = (await (await client.post("/v1/quotes", json=body, headers=shop.headers)).json())["price"]
    assert again == before
