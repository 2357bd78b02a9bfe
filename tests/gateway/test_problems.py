"""Every error code has one entry in the problem catalogue, with its own correct Persian text."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import booking
import gateway
import handover
import kernel
import money
import returns
import routing
import tracking
from kernel.errors import BaridError
from kernel.postal.offices import load_registry
from kernel.problems import CATALOGUE
from tests.conftest import shipment_body
from tracking.staff import create_staff

ROOT = Path(__file__).resolve().parents[2]
PERSIAN = re.compile(r"[\u0600-\u06FF]")
# A problem code is spelled as a class attribute (`code = "x"`) or handed to an error (`code="x"`); field
# errors carry their own messages beside them and are not problem codes.
CODE_LITERAL = re.compile(r"""(?<![\w.])code\s?=\s?"([a-z0-9_]+)\"""")


def _error_classes(root: type) -> list[type]:
    out, todo = [], [root]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return out


def _import_all() -> None:
    for pkg in (kernel, booking, gateway, tracking, routing, handover, returns, money):
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not mod.name.endswith("__main__"):
                importlib.import_module(mod.name)


def test_every_catalogued_code_has_a_status_a_title_and_a_persian_text_of_its_own():
    texts: dict[str, str] = {}
    for code, kind in CATALOGUE.items():
        assert 400 <= kind.status <= 599, code
        assert kind.title and not PERSIAN.search(kind.title), code
        assert PERSIAN.search(kind.fa), f"{code}: no Persian text"
        assert kind.fa not in texts, f"{code} and {texts.get(kind.fa)} share one Persian text"
        texts[kind.fa] = code


def test_every_code_in_the_source_is_catalogued():
    found: dict[str, str] = {}
    for pkg in ("kernel", "booking", "gateway", "tracking", "routing", "handover", "returns", "money"):
        for path in (ROOT / pkg).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if "FieldError(" in line or "_err(" in line:
                    continue
                for code in CODE_LITERAL.findall(line):
                    found.setdefault(code, str(path.relative_to(ROOT)))
    missing = {code: where for code, where in found.items() if code not in CATALOGUE}
    assert not missing, f"codes with no catalogue entry: {missing}"
    assert len(found) > 40  # the scan itself still finds the codes


def test_every_error_class_names_a_catalogued_code_and_carries_no_http_status():
    _import_all()
    classes = [c for c in _error_classes(BaridError) if "code" in c.__dict__]  # classes naming a code of their own
    assert len(classes) > 30
    for cls in classes:
        assert cls.code in CATALOGUE, cls
        # one root, no HTTP in it: the status of a code is the catalogue's, applied at the gateway
        assert not any("status" in k.__dict__ for k in cls.__mro__), cls


def test_an_error_raised_without_persian_text_answers_the_catalogues():
    problem = BaridError("boom", code="parcel_not_found").to_problem()
    assert problem["detail_fa"] == CATALOGUE["parcel_not_found"].fa
    assert problem["status"] == CATALOGUE["parcel_not_found"].status == 404
    assert problem["title"] == CATALOGUE["parcel_not_found"].title


async def test_cancelling_a_cancelled_parcel_says_so_in_both_languages(app_client, shop):
    booked = await (await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)).json()
    tn = booked["tracking_number"]
    assert (await app_client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)).status == 200
    again = await app_client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)
    problem = await again.json()
    assert again.status == 409
    assert problem["code"] == "already_cancelled"
    assert "لغو شده" in problem["detail_fa"] and "پذیرش" not in problem["detail_fa"]


@pytest.mark.parametrize("body, code", [
    ({"date": "not-a-date"}, "invalid_date"),
    ({"date": "2030-01-01", "time_limit_s": 10_000}, "time_limit_out_of_range"),
])
async def test_planning_errors_each_say_their_own_persian_sentence(app_client, redis, body, code):
    token = (await create_staff(redis, load_registry(), "IFN-01", "رضا"))["token"]
    resp = await app_client.post("/v1/offices/IFN-01/plans", json=body, headers={"Authorization": f"Bearer {token}"})
    problem = await resp.json()
    assert resp.status == 422 and problem["code"] == code
    assert problem["detail_fa"] == CATALOGUE[code].fa
