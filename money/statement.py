"""A remittance's statement for its shop: a Persian PDF (Jalali dates, Persian digits, rials with thousands
separators) and its lines as CSV, streamed.

The PDF is drawn with the labels' own Persian text stack (handover/pdftext.py: Vazirmatn shaped by HarfBuzz, a
ToUnicode map so the text can be searched and extracted), so statements, labels and manifests look alike and
share one prepared font per process.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone

import jdatetime

from handover import pdfdoc
from handover.pdftext import TextWriter
from kernel.postal.text import fa_digits, fa_rials

from .remittance import FEE_KINDS, STATUS_FA, Line, Remittance
from .settlement import local_day

ROWS_PER_PAGE = 30
CSV_CHUNK_ROWS = 500  # rows per streamed chunk: small enough to start at once, big enough to cost little
CSV_HEADER = ("tracking_number", "delivered_at", "collected", *FEE_KINDS, "fees", "net")
FEE_FA = {"shipping": "کرایهٔ پستی", "cod_fee": "کارمزد پرداخت در محل", "insurance": "بیمه", "vat": "مالیات بر ارزش افزوده"}
rials = fa_rials  # 1234567 -> ۱٬۲۳۴٬۵۶۷: the kernel's one amount formatter


def jalali(day) -> str:
    return fa_digits(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))


def render_pdf(rem: Remittance, shop_name: str, sheba_masked: str | None = None,
               bank_fa: str | None = None) -> bytes:
    """A4 portrait, right to left: the head (shop, remittance, payout day, status, account), the lines' table
    (collected, each fee, net), then the totals."""
    # The payout day, not the time of printing: the same remittance prints the same bytes every time.
    pdf, tw = pdfdoc.a4_document(datetime(rem.period.year, rem.period.month, rem.period.day, tzinfo=timezone.utc))
    # columns, right to left: row, tracking number, delivered, collected, shipping, COD fee, insurance, VAT, net
    cols = [(192, 8), (162, 30), (142, 20), (118, 24), (99, 19), (82, 17), (67, 15), (50, 17), (10, 40)]
    heads = ["ردیف", "شماره رهگیری", "تاریخ تحویل", "دریافتی", "کرایه", "کارمزد", "بیمه", "مالیات", "خالص (ریال)"]
    lines = rem.lines
    pages = pdfdoc.page_count(len(lines), ROWS_PER_PAGE)
    for page in range(pages):
        pdf.add_page()
        pdf.set_draw_color(0)
        pdf.set_line_width(0.3)
        tw.line(10, 10, 190, 9, "صورت‌حساب تسویهٔ وجوه پرداخت در محل", 15, bold=True)
        tw.line(10, 20, 190, 6, f"فروشگاه: {shop_name}", 10)
        tw.line(10, 26, 190, 6, f"شناسهٔ حواله: {rem.id}", 9)
        tw.line(10, 32, 190, 6, f"تاریخ پرداخت: {jalali(rem.period)}    وضعیت: {STATUS_FA[rem.status]}", 10)
        if sheba_masked:
            tw.line(10, 38, 190, 6, f"حساب مقصد: {sheba_masked}" + (f" ({bank_fa})" if bank_fa else ""), 9)
        tw.line(10, 20, 60, 6, f"صفحهٔ {fa_digits(str(page + 1))} از {fa_digits(str(pages))}", 9, align="L")
        first = page * ROWS_PER_PAGE
        rows = ([fa_digits(str(i)), line.tracking_number, jalali(local_day(line.delivered_at)),
                 rials(line.collected), *(rials(getattr(line, k)) for k in FEE_KINDS), rials(line.net)]
                for i, line in enumerate(lines[first:first + ROWS_PER_PAGE], start=first + 1))
        y = pdfdoc.table(pdf, tw, 46, cols, heads, rows, 8)
        if page == pages - 1:
            _totals(tw, rem, y + 5)
    return pdfdoc.output(pdf)


def _totals(tw: TextWriter, rem: Remittance, y: float) -> None:
    fees = rem.fee_totals()
    rows = [(f"تعداد مرسوله‌ها: {fa_digits(str(len(rem.lines)))}", False),
            (f"جمع مبالغ دریافتی از خریداران: {rials(rem.collected)} ریال", False),
            *((f"جمع {FEE_FA[k]}: {rials(v)} ریال", False) for k, v in fees.items()),
            (f"مبلغ قابل پرداخت به فروشگاه: {rials(rem.total)} ریال", True)]
    for text, bold in rows:
        tw.line(10, y, 190, 7, text, 11 if bold else 10, bold=bold)
        y += 7
    if rem.bank_ref:
        tw.line(10, y, 190, 7, f"شمارهٔ پیگیری بانک: {rem.bank_ref}", 10)


def lines_csv(lines: Iterable[Line]) -> Iterator[bytes]:
    """The lines as CSV (UTF-8, one header row, amounts in whole rials), in chunks as they are read, so a
    statement of any length starts at once and never sits whole in memory."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    n = 0
    for line in lines:
        w.writerow((line.tracking_number, line.delivered_at, line.collected, *(getattr(line, k) for k in FEE_KINDS),
                    line.fees, line.net))
        n += 1
        if n % CSV_CHUNK_ROWS == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()
