"""The gateway's kernels, compiled and pure Python through one fixture: the canonical check must never accept what
the validator would reject or rewrite, the compiled price table must price and refuse as its source does in
Python, and the packer must write exactly what hiredis writes."""

from __future__ import annotations

import copy
import importlib
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import hiredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.validation import RequestValidator, shipment_rules
from kernel import _isotime_py, _resp_py, _s10_py, _shipment_py, _tariff_py, fast
from kernel.postal.s10 import parse_tracking_number as parse
from kernel.postal.tariff import ZONES, Limits, Tariff, TariffDataError, TariffError

SENDER = {"name": "کتاب‌فروشی آفتاب", "phone": "09121234567", "postal_code": "1458973311", "province": "تهران",
          "city": "تهران", "address": "خیابان انقلاب، پلاک ۱۲"}
BOOKING = {
    "client_order_id": "A-1001", "service": "pishtaz", "payment": {"type": "cod", "goods_value": 12_000_000},
    "receiver": {"name": "علی رضایی", "phone": "09131234567", "postal_code": "8138634561", "province": "اصفهان",
                 "city": "اصفهان", "address": "خیابان چهارباغ، کوچه‌ی ۵"},
    "parcel": {"weight_g": 1200, "length_mm": 300, "width_mm": 200, "height_mm": 100, "declared_value": 5_000_000,
               "contents": "کتاب"},
}


# Each kernel: its compiled module and its pure-Python one (for the first three, the same source).
MODULES = {"tariff": ("kernel._tariff_c", _tariff_py), "shipment": ("kernel._shipment_c", _shipment_py),
           "s10": ("kernel._s10_c", _s10_py), "resp": ("kernel._resp", _resp_py),
           "isotime": ("kernel._isotime", _isotime_py)}


def _kernels(modules) -> SimpleNamespace:
    t, sh, s10, resp, iso = (modules[name] for name in MODULES)
    return SimpleNamespace(PriceTable=t.PriceTable, ShipmentRules=sh.ShipmentRules,
                           canonical_shipment=sh.canonical_shipment, check_digit=s10.check_digit,
                           s10_number=s10.s10_number, pack_commands=resp.pack_commands, iso_ms=iso.iso_ms)


PURE = _kernels({name: twin for name, (_, twin) in MODULES.items()})


@pytest.fixture(params=["compiled", "python"])
def kernels(request):
    """Both implementations, like aiohttp's C and pure-Python parsers."""
    if request.param == "python":
        return PURE
    try:
        return _kernels({name: importlib.import_module(compiled) for name, (compiled, _) in MODULES.items()})
    except ImportError:
        pytest.skip("the gateway's kernels are not built")


@pytest.fixture(scope="module")
def limits() -> Limits:
    return Limits.load()


def check(kernels, limits: Limits, body):
    """The kernel's answer, and the slow validator's (errors, or the fields the kernel returns)."""
    rules = shipment_rules(limits, kernels.ShipmentRules)
    fast = kernels.canonical_shipment(body, rules)
    req, errs = RequestValidator(limits)._validate(body, SENDER, quote=False)
    slow = [e.code for e in errs.items] if errs else (
        req.client_order_id, req.service, req.payment, req.receiver, req.parcel, req.another_parcel)
    return fast, slow


def test_a_canonical_booking_is_accepted_as_the_validator_would_make_it(kernels, limits):
    fast, slow = check(kernels, limits, BOOKING)
    assert fast is not None and fast == slow
    prepaid = {**BOOKING, "payment": {"type": "prepaid", "goods_value": 5}, "parcel": {"weight_g": 1}}
    fast, slow = check(kernels, limits, prepaid)
    assert fast == slow and fast[2] == {"type": "prepaid"} and fast[4] == {"weight_g": 1}


def set_field(body: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    target = body
    for name in parents:
        target = target[name]
    if value is ...:
        del target[last]
    else:
        target[last] = value


def with_field(path: str, value) -> dict:
    body = copy.deepcopy(BOOKING)
    set_field(body, path, value)
    return body


@pytest.mark.parametrize(("path", "value"), [
    # what the validator rewrites: the slow path must do it
    ("receiver.phone", "+989131234567"), ("receiver.phone", "۹۱۳۱۲۳۴۵۶۷"), ("receiver.postal_code", "81386-34561"),
    ("receiver.postal_code", "۸۱۳۸۶-۳۴۵۶۱"),
    ("receiver.province", "Isfahan"), ("receiver.city", "اصفهان "), ("receiver.name", "علي رضايي"),
    ("receiver.address", "خیابان  چهارباغ"), ("receiver.address", "\u200cخیابان"), ("receiver.address", "کوچه\u200c 5"),
    ("receiver.address", "کوچه\u200c\u200cی"), ("receiver.name", "علی\tرضایی"), ("receiver.name", "علی\u00a0رضایی"),
    ("receiver.name", "ali\u200e"), ("client_order_id", " A-1"), ("receiver.location", {"lat": 32.6, "lon": 51.6}),
    ("sender", {"city": "کرج"}),
    # what it rejects
    ("client_order_id", ""), ("client_order_id", "x" * 200), ("client_order_id", 7), ("service", "express"),
    ("payment.type", "card"), ("payment.goods_value", True), ("payment.goods_value", 1.5),
    ("payment.goods_value", 10 ** 15), ("payment", None), ("receiver.phone", "0913123456"),
    ("receiver.phone", "0913123456\u00b9"), ("receiver.postal_code", "813863456\u00b2"),  # digits, not decimal ones
    ("receiver.postal_code", "1111134561"), ("receiver.postal_code", "8138534561"), ("receiver.postal_code", "8138632561"),
    ("receiver.postal_code", "0138634561"), ("receiver.province", "Atlantis"), ("receiver.name", ""),
    ("receiver.province", "تهران"), ("receiver.postal_code", "1916753411"),  # code and province disagree
    ("receiver.name", "x" * 101), ("receiver.address", ...), ("receiver", "Isfahan"), ("parcel.weight_g", 0),
    ("parcel.weight_g", 10 ** 9), ("parcel.weight_g", "1200"), ("parcel.length_mm", 0), ("parcel.height_mm", 10 ** 6),
    ("parcel.declared_value", -1), ("parcel.contents", ""), ("parcel", []),
    ("parcel", {"weight_g": 1200, "length_mm": 1500, "width_mm": 1000, "height_mm": 10}),
])
def test_anything_else_is_left_to_the_validator(kernels, limits, path, value):
    fast, slow = check(kernels, limits, with_field(path, value))
    assert fast is None
    assert slow  # still answered: rewritten fields or errors


@pytest.mark.parametrize(("phone", "postal_code"), [
    ("۰۹۱۳۱۲۳۴۵۶۷", "۸۱۳۸۶۳۴۵۶۱"), ("٠٩١٣١٢٣٤٥٦٧", "٨١٣٨٦٣٤٥٦١"), ("09۱۳1234۵۶7", "81386٣٤٥٦1")])
def test_persian_and_arabic_indic_digits_stay_on_the_fast_path_translated(kernels, limits, phone, postal_code):
    body = with_field("receiver.phone", phone)
    body["receiver"]["postal_code"] = postal_code
    fast, slow = check(kernels, limits, body)
    assert fast is not None and fast == slow
    assert (fast[3]["phone"], fast[3]["postal_code"]) == ("09131234567", "8138634561")


def test_zero_width_non_joiner_inside_a_word_stays_on_the_fast_path(kernels, limits):
    body = with_field("receiver.name", "مهر\u200cآفرین\u200d")
    fast, slow = check(kernels, limits, body)
    assert fast is not None and fast == slow


TEXT = st.text(st.sampled_from(["ب", "ی", "ي", "ك", "ـ", " ", "\u200c", "\u200d", "\t", "\u00a0", "a", "۵", "\u200e"]),
               max_size=8)
FIELDS = {
    "client_order_id": st.one_of(st.text(st.sampled_from(["A", "1", " ", "\u3000", "-"]), max_size=4),
                                 st.integers(), st.none()),
    "service": st.sampled_from(["pishtaz", "sefareshi", "express", None]),
    "payment.type": st.sampled_from(["cod", "prepaid", "card", 1]),
    "payment.goods_value": st.one_of(st.integers(-10, 10 ** 11), st.booleans(), st.floats(0, 10 ** 7)),
    "receiver.name": TEXT, "receiver.city": TEXT, "receiver.address": TEXT, "parcel.contents": TEXT,
    "receiver.phone": st.text(st.sampled_from(["0", "9", "1", "+", "۹", "۰", "٩", "٠", "\u00b9", "-"]), min_size=10,
                              max_size=12),
    "receiver.postal_code": st.one_of(  # one digit off a valid code probes each position of the rule
        st.tuples(st.integers(0, 9), st.sampled_from("0123456789۰۲۵۸٠٢٥٨")).map(
            lambda change: "8138634561"[:change[0]] + change[1] + "8138634561"[change[0] + 1:]),
        st.text(st.sampled_from("0123456789۱۳۸٣\u00b2 "), min_size=9, max_size=11)),
    "receiver.province": st.sampled_from(["اصفهان", "تهران", "Tehran", "اصفهان ", "x"]),
    "parcel.weight_g": st.one_of(st.integers(-1, 40_000), st.floats(0, 100)),
    "parcel.length_mm": st.integers(-1, 2_000), "parcel.width_mm": st.integers(-1, 2_000),
    "parcel.height_mm": st.integers(-1, 2_000), "parcel.declared_value": st.integers(-1, 10 ** 12),
}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(sorted(FIELDS)), st.none(), max_size=4).flatmap(
    lambda picked: st.fixed_dictionaries({path: FIELDS[path] for path in picked})))
def test_the_kernel_never_disagrees_with_the_validator(kernels, limits, changes):
    body = copy.deepcopy(BOOKING)
    for path, value in changes.items():
        set_field(body, path, value)
    fast, slow = check(kernels, limits, body)
    if fast is not None:
        assert fast == slow


COMMANDS = [
    ("EVALSHA", "3f" * 20, 2, "{p1}:shop:1", "{p1}:rl:1", b"\x00\r\n" * 300, 0, -1, 7, 10 ** 30, -(2 ** 63),
     2 ** 63 - 1, 2 ** 64, 1e6, 0.1, 1e-7, float("inf"), "علی\u200cرضا", "", b"", memoryview(b"view")),
    ("SET", "barid:tn:EP000000019IR", 42),
]


def test_commands_are_packed_byte_for_byte_as_hiredis_packs_them(kernels):
    assert kernels.pack_commands(COMMANDS) == b"".join(map(hiredis.pack_command, COMMANDS))
    assert kernels.pack_commands([]) == b""


@pytest.mark.parametrize("bad", [True, None, [1], {"a": 1}, bytearray(b"x")])
def test_an_argument_the_protocol_cannot_carry_is_a_type_error(kernels, bad):
    with pytest.raises(TypeError):
        kernels.pack_commands([("SET", "k", bad)])


def test_every_one_digit_change_of_a_postal_code_is_judged_as_the_validator_judges_it(kernels, limits):
    valid = BOOKING["receiver"]["postal_code"]
    for at in range(10):
        for digit in "0123456789":
            fast, slow = check(kernels, limits, with_field("receiver.postal_code", valid[:at] + digit + valid[at + 1:]))
            assert (fast is not None) == (not isinstance(slow, list)), (at, digit)


def test_a_postal_code_of_another_province_is_left_to_the_validator_which_refuses_it(kernels, limits):
    # Every postal region with its own province stays on the fast path; with any other province, neither path
    # books it: the kernel defers, the validator names both fields (docs/coverage.md).
    from kernel.postal.offices import load_registry, postal_regions

    registry = load_registry()
    names = sorted(set(postal_regions().values()))
    for prefix, province in sorted(postal_regions().items()):
        code = next(c for c in (prefix + t for t in ("34113579", "4113579", "113579"))
                    if len(c) == 10 and registry.province_of(c) == province)
        body = with_field("receiver.postal_code", code)
        body["receiver"]["province"] = province
        fast, slow = check(kernels, limits, body)
        assert fast is not None and fast == slow, prefix
        body["receiver"]["province"] = names[(names.index(province) + 1) % len(names)]
        fast, slow = check(kernels, limits, body)
        assert fast is None and slow == ["postal_code_province_mismatch"] * 2, prefix


def test_one_switch_turns_the_extension_off():
    code = "import kernel.fast as f; print(f.COMPILED, *(m.__name__ for m in f.KERNELS.values()))"
    env = {**os.environ, "BARID_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", *(twin.__name__ for _, twin in MODULES.values())]
    if not fast.COMPILED:
        pytest.skip("the gateway's kernels are not built")
    env.pop("BARID_NO_EXTENSIONS")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", *(compiled for compiled, _ in MODULES.values())]


def test_the_compiled_kernels_are_built_from_the_pure_python_sources():
    # One source per rule: each *_c.py that setup.py compiles is the pure module itself, not a copy.
    for name in ("tariff", "shipment", "s10"):
        compiled = Path(_tariff_py.__file__).with_name(f"_{name}_c.py")
        assert compiled.is_symlink() and compiled.resolve() == Path(MODULES[name][1].__file__).resolve()


# --- prices, tracking numbers, timestamps --------------------------------------------------------------------

@pytest.fixture(scope="module")
def tariff() -> Tariff:
    return Tariff.load()


def slow_price(tariff: Tariff, *args):
    try:
        return tariff.quote(*args).to_dict()
    except TariffError as exc:
        return exc.code


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(service=st.sampled_from(["pishtaz", "sefareshi", "post", 1]),
       weight=st.one_of(st.integers(-10, 40_000), st.sampled_from([True, 1.5, "900", None, 2**70, -2**70])),
       zone=st.sampled_from([*ZONES, "abroad"]),
       cod=st.one_of(st.none(), st.integers(-1, 10**11), st.sampled_from([True, 1e6, "1000000", 2**70, -2**64])),
       declared=st.one_of(st.none(), st.integers(-1, 10**11), st.sampled_from([False, 1e6, 2**70])))
def test_the_price_table_prices_and_refuses_as_its_python_source_and_the_tariff_do(kernels, tariff, service,
                                                                                    weight, zone, cod, declared):
    args = (service, weight, zone, cod, declared)
    answer = tariff.price_table(kernels.PriceTable).quote(*args)
    assert answer == tariff.price_table(_tariff_py.PriceTable).quote(*args) == slow_price(tariff, *args)


def test_a_tariff_too_large_to_price_exactly_is_refused_at_start_up(kernels, tariff):
    rates = tariff._services["pishtaz"]
    services = {"pishtaz": (rates.bounds_g, dict(rates.prices), None, rates.limits.max_weight_g, 10**17)}
    with pytest.raises(ValueError):
        kernels.PriceTable(services, 1000, 100, 5, 10, 1, 10**9, 50, 3)
    with pytest.raises(TariffDataError):
        Tariff(tariff._services, tariff.limits, 10**15, 100, 5, 10, 50, 3)


def test_the_price_table_answers_every_booking_the_tariff_accepts(kernels, tariff, limits):
    """Every band edge, zone and fee case is priced, and priced alike by both builds."""
    table, source = tariff.price_table(kernels.PriceTable), tariff.price_table(_tariff_py.PriceTable)
    cods = (None, limits.cod_min_goods_value_rial, 12_345_678, limits.cod_max_goods_value_rial)
    for service, svc in limits.services.items():
        weights = sorted({1, 999, 1000, 1001, 2000, 2001, 5000, 10_000, 20_000, svc.max_weight_g - 1, svc.max_weight_g})
        for weight in weights:
            for zone in ZONES:
                for cod in cods:
                    for declared in (None, 0, 1, 5_000_000, svc.max_declared_value_rial):
                        args = (service, weight, zone, cod, declared)
                        answer = table.quote(*args)
                        assert type(answer) is dict and answer == source.quote(*args), args


def test_a_tariff_with_a_price_per_extra_kilogram_is_priced_the_same(kernels, tariff):
    rates = tariff._services["pishtaz"]
    last = rates.bounds_g[-1]
    services = {"pishtaz": (rates.bounds_g[:-1], {z: p[:-1] for z, p in rates.prices.items()},
                            {z: 7_000 + i for i, z in enumerate(ZONES)}, rates.limits.max_weight_g,
                            rates.limits.max_declared_value_rial)}
    table = kernels.PriceTable(services, 1000, 100, 5, 10, 1, 10**9, 50, 3)
    twin = _tariff_py.PriceTable(services, 1000, 100, 5, 10, 1, 10**9, 50, 3)
    for weight in (rates.bounds_g[-2], rates.bounds_g[-2] + 1, last, last + 999, rates.limits.max_weight_g):
        for zone in ZONES:
            assert table.quote("pishtaz", weight, zone, 500, 7) == twin.quote("pishtaz", weight, zone, 500, 7)
    over = twin.quote("pishtaz", rates.bounds_g[-2] + 1001, "same_city", None, None)
    assert over["base"] == rates.prices["same_city"][-2] + 2 * 7_000  # two started kilograms past the last band


@pytest.mark.parametrize(("serial", "expected"), [(47312482, "RR473124829GB"), (0, "RR000000005GB"),
                                                  (99_999_999, "RR999999995GB"), (12_345_678, "RR123456785GB")])
def test_tracking_numbers_are_formatted_with_the_s10_check_digit(kernels, serial, expected):
    assert kernels.s10_number("RR", serial, "GB") == expected
    assert kernels.check_digit(serial) == int(expected[10])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(serial=st.integers(0, 99_999_999))
def test_every_tracking_number_the_kernel_makes_parses_back(kernels, serial):
    tn = kernels.s10_number("EP", serial, "IR")
    assert parse(tn, "IR") == ("EP", serial)


@pytest.mark.parametrize("serial", [-1, 100_000_000])
def test_a_serial_outside_eight_digits_is_a_value_error(kernels, serial):
    with pytest.raises(ValueError):
        kernels.s10_number("EP", serial, "IR")
    with pytest.raises(ValueError):
        kernels.check_digit(serial)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ts=st.one_of(st.floats(-3e10, 3e11, allow_nan=False), st.integers(0, 2_000_000_000),
                    st.sampled_from([0.0, 0.9999, 1764386655.9995, 253402300799.999, 253402300800.0, -0.001])))
def test_timestamps_are_the_calendar_s_in_utc_with_milliseconds(kernels, ts):
    ms = int(ts * 1000)
    if -62_135_596_800 <= ms // 1000 < 253_402_300_800:  # the years datetime knows
        expected = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
        assert kernels.iso_ms(ts) == expected.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    else:
        assert kernels.iso_ms(ts) == _isotime_py.iso_ms(ts)
