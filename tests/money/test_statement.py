"""The shop's statement of a remittance: a Persian PDF whose text can be found, and its lines as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from pypdf import PdfReader

from money.policy import Cycle
from money.remittance import PAID, SENT, Line, make_remittance
from money.settlement import local_day
from money.statement import jalali, lines_csv, render_pdf, rials

AS_OF = date(2026, 12, 15)  # 1405/09/24


def _remittance(n: int):
    lines = [Line(f"EP{100000000 + i:09d}IR", "2026-12-01T09:00:00Z", 12_500_000 + i, shipping=350_000,
                  cod_fee=62_500, insurance=5_000, vat=37_350) for i in range(n)]
    return make_remittance(42, lines, AS_OF, Cycle(0, None, 0), lambda d: d.weekday() != 4).remittance


# pypdf takes every character of the Arabic block, Persian digits included, for right-to-left text, so it returns
# a number (drawn left to right, as Persian writes numbers) with its digits reversed; this puts them back.
_FA_NUMBER = re.compile("[\u06f0-\u06f9\u066c/]+")


def _page_text(page) -> str:
    return _FA_NUMBER.sub(lambda m: m.group()[::-1], page.extract_text())


def _text(pdf: bytes) -> str:
    return "\n".join(_page_text(page) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_rials_in_persian_digits_with_thousands_separators():
    assert rials(12_045_150) == "۱۲٬۰۴۵٬۱۵۰"
    assert rials(0) == "۰"
    assert jalali(local_day("2026-12-01T21:00:00Z")) == "۱۴۰۵/۰۹/۱۱"  # 00:30 in Tehran: the next day


def test_the_pdf_shows_the_total_the_lines_and_jalali_dates():
    rem = _remittance(3).move(SENT).move(PAID, bank_ref="PAYA778899")
    pdf = render_pdf(rem, "کتاب‌فروشی آفتاب", "IR11017***************9001", "بانک ملی ایران")
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert rials(rem.total) in text and rem.total == 3 * 12_045_150 + 3  # collected less fees, to the rial
    assert "EP100000001IR" in text and rem.id in text
    assert "تاریخ پرداخت: ۱۴۰۵/۰۹/۲۴" in text  # the payout day, Jalali
    assert "آفتاب" in text and "PAYA778899" in text


def test_a_long_statement_runs_over_pages_and_totals_on_the_last():
    rem = _remittance(65)
    reader = PdfReader(io.BytesIO(render_pdf(rem, "فروشگاه")))
    assert len(reader.pages) == 3
    assert rials(rem.total) in _page_text(reader.pages[2])
    assert "EP100000064IR" in _page_text(reader.pages[2])
    assert render_pdf(rem, "فروشگاه") == render_pdf(rem, "فروشگاه")  # the same statement, the same bytes


def test_the_csv_streams_in_chunks_and_adds_up():
    rem = _remittance(1234)
    chunks = list(lines_csv(iter(rem.lines)))
    assert len(chunks) == 3  # 500-row chunks: the first goes out before the rest is read
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 1234 and rows[0]["tracking_number"] == "EP100000000IR"
    assert sum(int(r["net"]) for r in rows) == rem.total
    assert all(int(r["collected"]) - int(r["fees"]) == int(r["net"]) for r in rows)
