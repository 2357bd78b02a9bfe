"""The buyer's or the shop's address notes on a failed-delivery case reach the postman: on the solved plan's stop
and on the printed route sheet, not only on the router's input."""

from __future__ import annotations

from kernel.postal.offices import load_registry
from returns.cases import next_working_day, today_iran
from tests.routing.office_flow import plan_for

from .conftest import OFFICE

NOTES = "زنگ دوم، طبقهٔ سوم"


async def test_the_cases_notes_are_on_the_postmans_stop_and_sheet(client, shop, redis, staff, parcel_at_office,
                                                                  fail, act):
    [tn] = await parcel_at_office()
    await fail(tn, "address_incomplete")
    status, body = await act(tn, {"action": "update_contact", "address_notes": NOTES})
    assert status == 200, body
    day = next_working_day(load_registry(), today_iran())
    record = await plan_for(client, staff, redis, OFFICE, day.isoformat())
    [(postman, stop)] = [(p, s) for p in record["plan"]["postmen"] for s in p["stops"] if tn in s["parcels"]]
    assert {"name": "علی رضایی", "phone": "09131234567", "address_notes": NOTES} in stop["receivers"]
    html = await (await client.get(postman["sheet_url"])).text()
    assert NOTES in html

