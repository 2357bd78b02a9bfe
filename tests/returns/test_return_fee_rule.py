"""The return fee is one rule in the tariff data (``[returns]`` of kernel/postal/data/tariff.toml)."""

from __future__ import annotations

import tomllib

import pytest

from kernel.postal.tariff import TARIFF_PATH, Limits, Tariff, TariffDataError


def _tariff_with(tmp_path, returns: str) -> Tariff:
    text = TARIFF_PATH.read_text(encoding="utf-8")
    start = text.index("[returns]")
    end = text.index("[services.")
    path = tmp_path / "tariff.toml"
    path.write_text(text[:start] + returns + "\n" + text[end:], encoding="utf-8")
    return Tariff.load(path, Limits.load())


def test_the_packaged_rule_is_the_whole_base_postage_with_its_vat() -> None:
    raw = tomllib.loads(TARIFF_PATH.read_text(encoding="utf-8"))
    tariff = Tariff.load()
    assert tariff.return_fee_bp == raw["returns"]["fee_bp"] == 10_000
    price = tariff.price("pishtaz", 1200, "other_province", 12_000_000, 5_000_000)
    fee = tariff.return_fee(price)
    net = price["base"] + price["cod_fee"] + price["insurance"]
    assert fee == {"fee": price["base"], "vat": price["vat"] * price["base"] // net,
                   "total": price["base"] + price["vat"] * price["base"] // net, "currency": "IRR"}


def test_a_share_of_the_postage_is_read_from_the_data(tmp_path) -> None:
    tariff = _tariff_with(tmp_path, "[returns]\nfee_bp = 5_000")
    price = tariff.price("sefareshi", 400, "same_city")
    fee = tariff.return_fee(price)
    assert fee["fee"] == price["base"] // 2 and fee["vat"] == price["vat"] * fee["fee"] // price["base"]
    assert tariff.return_fee({})["total"] == 0  # nothing priced, nothing charged


def test_a_bad_rule_stops_the_start(tmp_path) -> None:
    with pytest.raises(TariffDataError, match="returns"):
        _tariff_with(tmp_path, "[returns]\nfee_bp = -1")
