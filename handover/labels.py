"""Shipping labels: what goes on one (``Label``) and its three renderings, PDF, PNG and ZPL II.

Every format carries the same content, laid out right to left: the S10 number as Code 128 with its
human-readable line, a QR code of the public tracking URL, the receiver (postal code in large 5-5 digits), the
sender, the delivering office with its sort code large, the hub path, service, weight, Jalali booking date,
parcel n of m, and the COD amount in a black box (or "prepaid").

- PDF: fpdf2 with HarfBuzz shaping (uharfbuzz) and the embedded Vazirmatn font; the Code 128 bars are drawn as
  vector rectangles from python-barcode's encoding, the QR code as vector modules from segno.
- PNG: the PDF page rasterised by PDFium (pypdfium2), so the two can never disagree.
- ZPL II (203 dpi): native ``^BC`` and ``^BQ`` for the codes, so the printer draws them at its own resolution;
  every piece of Persian text is a ``^GF`` graphic field rendered here (Pillow with raqm), so the printer needs
  no font.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Any

import jdatetime
from fpdf import FPDF

from .codes import _qr_rects, _qr_width, _runs, code128_length, code128_modules, qr_matrix
from .pdftext import FONT_REGULAR, LabelProducer, TextWriter, label_font, ltr
from .zpltext import text_field

# Bumped whenever the layout changes, so a cached label (ETag) is never taken for a new one.
LAYOUT_VERSION = "3"

FORMATS = ("pdf", "zpl", "png")
# Page sizes in mm (width, height). a4-2up puts two labels of half an A4 each side by side on a landscape A4.
SIZES: dict[str, tuple[float, float]] = {
    "100x150": (100.0, 150.0), "a6": (105.0, 148.0), "a5": (148.0, 210.0), "a4-2up": (297.0, 210.0),
}
# A thermal printer's head is about 4 inches wide: ZPL is made for the roll sizes only.
ZPL_SIZES = ("100x150", "a6")
ZPL_DPMM = 8  # 203 dpi
PNG_DPI = 203  # a PNG is what a thermal printer driver would get

SERVICE_FA = {"pishtaz": "پیشتاز", "sefareshi": "سفارشی"}


@dataclass(frozen=True, slots=True)
class Label:
    """Everything printed on one label, as text (what the renderers need and the ETag covers)."""

    tracking_number: str
    tracking_url: str
    receiver_name: str
    receiver_mobile: str
    receiver_postal_code: str
    receiver_address: str
    receiver_city: str
    receiver_province: str
    sender_name: str
    sender_phone: str
    sender_address: str
    office_code: str
    office_name: str
    hub_path: tuple[str, ...]
    service: str
    weight_g: int
    booked_on: str  # Jalali YYYY/MM/DD
    piece: int
    pieces: int
    cod_rials: int | None  # None: prepaid

    @classmethod
    def from_shipment(cls, doc: dict[str, Any], tracking_url: str, office_name: str,
                      hubs: Sequence[str]) -> Label:
        """A label of a stored shipment document (gateway.booking's ``doc``)."""
        rcv, snd, parcel, payment = doc["receiver"], doc.get("sender") or {}, doc.get("parcel") or {}, doc["payment"]
        booked = jdatetime.datetime.fromgregorian(datetime=_iso_local(doc["created_at"]))
        # The postal code is a left-to-right island: after Persian words the bidi algorithm would otherwise read
        # its digits as Arabic numbers and print the two halves swapped (73311-14589).
        sender_addr = " ".join(p for p in (snd.get("address", ""), snd.get("city", ""),
                                           ltr(_postal_5_5(snd.get("postal_code", "")))) if p)
        pieces = _positive(parcel.get("pieces"), 1)
        return cls(
            tracking_number=doc["tracking_number"], tracking_url=tracking_url,
            receiver_name=rcv.get("name", ""), receiver_mobile=rcv.get("phone", ""),
            receiver_postal_code=rcv.get("postal_code", ""), receiver_address=rcv.get("address", ""),
            receiver_city=rcv.get("city", ""), receiver_province=rcv.get("province", ""),
            sender_name=snd.get("name", ""), sender_phone=snd.get("phone", ""), sender_address=sender_addr,
            office_code=doc.get("delivering_office") or "", office_name=office_name, hub_path=tuple(hubs),
            service=doc["service"], weight_g=int(parcel.get("weight_g", 0)),
            booked_on=booked.strftime("%Y/%m/%d"), piece=min(_positive(parcel.get("piece"), 1), pieces),
            pieces=pieces,
            cod_rials=_cod_amount(payment) if payment.get("type") == "cod" else None,
        )

    def digest(self) -> str:
        """A stable fingerprint of the content (the ETag's core): same content, same label."""
        return hashlib.sha256(repr((LAYOUT_VERSION, astuple(self))).encode()).hexdigest()[:32]


def _positive(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _cod_amount(payment: dict[str, Any]) -> int:
    """What the postman collects: the goods' value (the shop's own figure, as booked)."""
    return int(payment.get("goods_value") or payment.get("amount") or 0)


def _iso_local(created_at: str):
    from datetime import datetime, timedelta, timezone

    iran = timezone(timedelta(hours=3, minutes=30))
    return datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(iran).replace(tzinfo=None)


def _postal_5_5(code: str) -> str:
    return f"{code[:5]}-{code[5:]}" if len(code) == 10 else code


def _rials(amount: int) -> str:
    return f"{amount:,}"


# -- PDF ---------------------------------------------------------------------------------------------------------

DESIGN_W, DESIGN_H = 100.0, 150.0  # the layout is drawn on this grid (mm) and scaled to the cell


class _Page:
    """Draws one label into a cell of an FPDF page: design coordinates (mm on 100x150) scaled and offset."""

    def __init__(self, pdf: FPDF, x0: float, y0: float, w: float, h: float) -> None:
        self.pdf = pdf
        self.tw: TextWriter = getattr(pdf, "_barid_text", None)
        self.s = min(w / DESIGN_W, h / DESIGN_H)
        self.x0 = x0 + (w - DESIGN_W * self.s) / 2
        self.y0 = y0 + (h - DESIGN_H * self.s) / 2

    def X(self, x: float) -> float:  # noqa: N802
        return self.x0 + x * self.s

    def Y(self, y: float) -> float:  # noqa: N802
        return self.y0 + y * self.s

    def text(self, x: float, y: float, w: float, h: float, txt: str, align: str = "R", size: float = 9,
             bold: bool = False, on_black: bool = False) -> None:
        self.tw.line(self.X(x), self.Y(y), w * self.s, h * self.s, txt, size * self.s, align, bold, on_black)

    def para(self, x: float, y: float, w: float, line_h: float, txt: str, size: float = 9, max_lines: int = 3) -> None:
        for i, line in enumerate(self.tw.wrap(txt, w * self.s, size * self.s, max_lines)):
            self.text(x, y + i * line_h, w, line_h, line, size=size)

    def rect(self, x: float, y: float, w: float, h: float, style: str = "D") -> None:
        self.pdf.set_line_width(0.3 * self.s)
        self.pdf.rect(self.X(x), self.Y(y), w * self.s, h * self.s, style=style)

    def line(self, y: float) -> None:
        self.pdf.set_line_width(0.3 * self.s)
        self.pdf.line(self.X(3), self.Y(y), self.X(97), self.Y(y))

    def _fill_rects(self, rects: list[tuple[float, float, float, float]]) -> None:
        """Filled rectangles (mm, top-left origin) as one path: the same ``re``/``f`` operators fpdf2's rect()
        writes, without its per-call bookkeeping (a QR code is a few hundred rectangles)."""
        k, h = self.pdf.k, self.pdf.h_pt
        ops = [f"{x * k:.2f} {h - y * k:.2f} {w * k:.2f} {-hh * k:.2f} re" for x, y, w, hh in rects]
        self.pdf._out(" ".join(ops) + " f")

    def code128(self, x: float, y: float, w: float, h: float, data: str) -> None:
        modules = code128_modules(data)
        mw = w * self.s / len(modules)
        bx, by, bh = self.X(x), self.Y(y), h * self.s
        self._fill_rects([(bx + start * mw, by, width * mw, bh) for start, width in _runs(modules)])

    def qr(self, x: float, y: float, size: float, data: str) -> None:
        matrix = qr_matrix(data)
        m = size * self.s / len(matrix)
        qx, qy = self.X(x), self.Y(y)
        self._fill_rects([(qx + c * m, qy + r * m, n * m + 0.01, m + 0.01) for r, c, n in _qr_rects(matrix)])


def _draw_label(page: _Page, lb: Label, barcode_only: bool = False) -> None:
    """The layout, on the 100x150 design grid, right to left."""
    pdf = page.pdf
    pdf.set_fill_color(0)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.3 * page.s)
    page.rect(1.5, 1.5, 97, 147)
    # Barcode: 82 mm wide for about 150 modules, over 0.5 mm a module, readable from 30 cm.
    page.code128(9, 86, 82, 18, lb.tracking_number)
    if barcode_only:
        return
    pdf.set_text_color(0)
    # Head: sort code (delivering office) large on the right, service and parcel n of m on the left.
    page.text(40, 3, 56, 12, lb.office_code, size=30, bold=True)
    page.text(34, 15, 62, 5, lb.office_name, size=8)
    pdf.set_text_color(255)
    page.rect(4, 4, 30, 10, style="F")
    page.text(4, 4, 30, 10, SERVICE_FA.get(lb.service, lb.service), align="C", size=16, bold=True, on_black=True)
    pdf.set_text_color(0)
    page.text(4, 15, 30, 5, f"مرسوله {ltr(str(lb.piece))} از {ltr(str(lb.pieces))}", align="C", size=8)
    page.text(4, 20.5, 92, 4.5, "مسیر: " + " > ".join(lb.hub_path), size=7)
    page.line(26)
    # Receiver.
    page.text(60, 27, 36, 6, "گیرنده:", size=9, bold=True)
    page.text(4, 27, 60, 6, lb.receiver_name, size=12, bold=True)
    page.text(4, 33.5, 92, 5, f"موبایل: {ltr(lb.receiver_mobile)}", size=9)
    page.para(4, 39, 92, 4.6, lb.receiver_address, size=9, max_lines=2)
    page.text(4, 48.5, 92, 5, f"{lb.receiver_city}، {lb.receiver_province}", size=9)
    page.text(60, 55, 36, 9, "کد پستی:", size=9)
    page.text(4, 53.5, 62, 11, _postal_5_5(lb.receiver_postal_code), size=26, bold=True, align="C")
    page.line(66)
    # Sender.
    page.text(60, 67, 36, 5, "فرستنده:", size=8, bold=True)
    page.text(4, 67, 60, 5, lb.sender_name, size=9, bold=True)
    page.text(4, 72, 92, 4.5, f"تلفن: {ltr(lb.sender_phone)}", size=8)
    page.para(4, 76.5, 92, 4, "نشانی برگشت: " + lb.sender_address, size=7.5, max_lines=2)
    page.line(84.5)
    # Human-readable line under the bars.
    page.text(9, 104.5, 82, 6, lb.tracking_number, align="C", size=13, bold=True)
    page.line(111.5)
    # Foot: QR on the left, the facts and the money on the right.
    page.qr(4, 114, 32, lb.tracking_url)
    page.text(40, 113.5, 56, 5, f"وزن: {ltr(f'{lb.weight_g:,}')} گرم", size=9)
    page.text(40, 118.5, 56, 5, f"تاریخ ثبت: {ltr(lb.booked_on)}", size=9)
    if lb.cod_rials is not None:
        page.rect(40, 125, 56, 21, style="F")
        pdf.set_text_color(255)
        page.text(40, 126, 56, 8, "پرداخت در محل", align="C", size=15, bold=True, on_black=True)
        page.text(40, 135, 56, 9, f"{ltr(_rials(lb.cod_rials))} ریال", align="C", size=15, bold=True, on_black=True)
        pdf.set_text_color(0)
    else:
        page.rect(40, 125, 56, 21)
        page.text(40, 126, 56, 8, "پیش‌پرداخت", align="C", size=15, bold=True)
        page.text(40, 135, 56, 9, "وجهی دریافت نشود", align="C", size=11)


def _new_pdf(size: str) -> FPDF:
    pdf = FPDF(unit="mm", format=SIZES[size])
    pdf.set_margins(0, 0, 0)
    pdf.set_auto_page_break(False)
    pdf.set_creator("Barid")
    pdf.set_creation_date(_EPOCH)  # same content, same bytes
    # The font is prepared once per process (handover.pdftext); the document only records the glyphs it uses.
    TextWriter(pdf, label_font(FONT_REGULAR))
    return pdf


def _cells(size: str) -> list[tuple[float, float, float, float]]:
    w, h = SIZES[size]
    if size == "a4-2up":
        return [(0.0, 0.0, w / 2, h), (w / 2, 0.0, w / 2, h)]
    return [(0.0, 0.0, w, h)]


def render_pdf(labels: Sequence[Label], size: str, *, barcode_only: bool = False,
               progress: list[int] | None = None) -> bytes:
    """One PDF of the labels: a page each, or two to an A4 page for a4-2up. ``progress[0]`` counts the labels
    drawn (read by a bulk job from another thread)."""
    pdf = _new_pdf(size) if not barcode_only else _bare_pdf(size)
    cells = _cells(size)
    for i, lb in enumerate(labels):
        if i % len(cells) == 0:
            pdf.add_page()
        _draw_label(_Page(pdf, *cells[i % len(cells)]), lb, barcode_only)
        if progress is not None:
            progress[0] = i + 1
    return bytes(pdf.output(output_producer_class=LabelProducer))


def _bare_pdf(size: str) -> FPDF:
    pdf = FPDF(unit="mm", format=SIZES[size])
    pdf.set_margins(0, 0, 0)
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(_EPOCH)
    return pdf


def _epoch():
    from datetime import datetime, timezone

    return datetime(2000, 1, 1, tzinfo=timezone.utc)


_EPOCH = _epoch()


# -- PNG ---------------------------------------------------------------------------------------------------------

def render_png(labels: Sequence[Label], size: str, dpi: int = PNG_DPI) -> bytes:
    """The first page of the PDF, rasterised (1 bit would suit a thermal printer; greyscale keeps it legible)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(render_pdf(labels[:len(_cells(size))], size))
    try:
        image = doc[0].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        doc.close()
    out = io.BytesIO()
    image.convert("L").save(out, format="PNG", optimize=False, dpi=(dpi, dpi))
    return out.getvalue()


def png_dimensions(size: str, dpi: int = PNG_DPI) -> tuple[int, int]:
    """PDFium's raster of a page: the size in dots, rounded up."""
    w, h = SIZES[size]
    return math.ceil(w / 25.4 * dpi - 1e-9), math.ceil(h / 25.4 * dpi - 1e-9)


# -- ZPL II ------------------------------------------------------------------------------------------------------

def _zfield(out: list[str], x: int, y: int, text: str, px: int, bold: bool = False, max_w: int = 0,
            invert: bool = False) -> None:
    dx, dy, body = text_field(text, px, bold, max_w)
    # ^FR prints the field's black dots reversed over what is under it (white text in a black box); its white dots,
    # the ones cropped away included, leave what is under them as it is.
    out.append(f"^FO{x + dx},{y + dy}{'^FR' if invert else ''}{body}^FS")


def render_zpl(labels: Sequence[Label], size: str) -> bytes:
    """ZPL II for 203 dpi printers, one ^XA..^XZ per label. Dots: 8 a mm; the design grid is 100x150 mm."""
    w_mm, h_mm = SIZES[size]
    pw, ll = round(w_mm * ZPL_DPMM), round(h_mm * ZPL_DPMM)
    parts = []
    for lb in labels:
        parts.append(_zpl_one(lb, pw, ll))
    return "".join(parts).encode("ascii")


@functools.lru_cache(maxsize=8)
def _dots(pw: int, ll: int):
    """Design millimetres to dots on this page, each position computed once per process."""
    s = min(pw / (100 * ZPL_DPMM), ll / (150 * ZPL_DPMM))

    @functools.cache
    def dots(mm: float) -> int:
        return round(mm * ZPL_DPMM * s)

    return dots


def _zpl_one(lb: Label, pw: int, ll: int) -> str:
    X = _dots(pw, ll)  # noqa: N806
    out = [f"^XA^CI28^PW{pw}^LL{ll}^LH0,0"]
    out.append(f"^FO{X(1.5)},{X(1.5)}^GB{X(97)},{X(147)},2^FS")
    # Head.
    out.append(f"^FO{X(40)},{X(4)}^A0N,{X(11)},{X(8)}^FB{X(56)},1,0,R^FD{_zpl_safe(lb.office_code)}^FS")
    _zfield(out, X(4), X(15), lb.office_name, X(3.6), max_w=X(92))
    out.append(f"^FO{X(4)},{X(4)}^GB{X(30)},{X(10)},{X(10)}^FS")
    _zfield(out, X(6), X(5), SERVICE_FA.get(lb.service, lb.service), X(6), bold=True, invert=True)
    _zfield(out, X(4), X(20.5),
            f"مرسوله {ltr(str(lb.piece))} از {ltr(str(lb.pieces))} — مسیر: " + " > ".join(lb.hub_path), X(3),
            max_w=X(92))
    out.append(f"^FO{X(3)},{X(26)}^GB{X(94)},0,2^FS")
    # Receiver.
    _zfield(out, X(4), X(27), "گیرنده: " + lb.receiver_name, X(4.6), bold=True, max_w=X(92))
    _zfield(out, X(4), X(33.5), f"موبایل: {ltr(lb.receiver_mobile)}", X(3.6), max_w=X(92))
    addr = lb.receiver_address
    _zfield(out, X(4), X(39), addr[:70], X(3.6), max_w=X(92))
    if len(addr) > 70:
        _zfield(out, X(4), X(43.6), addr[70:140], X(3.6), max_w=X(92))
    _zfield(out, X(4), X(48.5), f"{lb.receiver_city}، {lb.receiver_province}", X(3.6), max_w=X(92))
    _zfield(out, X(66), X(56), "کد پستی:", X(3.6), max_w=X(30))
    out.append(f"^FO{X(4)},{X(54)}^A0N,{X(10)},{X(7)}^FB{X(62)},1,0,C^FD{_postal_5_5(lb.receiver_postal_code)}^FS")
    out.append(f"^FO{X(3)},{X(66)}^GB{X(94)},0,2^FS")
    # Sender.
    _zfield(out, X(4), X(67), "فرستنده: " + lb.sender_name, X(3.4), bold=True, max_w=X(92))
    _zfield(out, X(4), X(72), f"تلفن: {ltr(lb.sender_phone)}", X(3.2), max_w=X(92))
    _zfield(out, X(4), X(76.5), ("نشانی برگشت: " + lb.sender_address)[:90], X(3), max_w=X(92))
    out.append(f"^FO{X(3)},{X(84.5)}^GB{X(94)},0,2^FS")
    # Code 128 (subset B, the printer picks the sets with ">:"-free auto mode) with its human-readable line.
    n_modules = code128_length(lb.tracking_number)
    module = max(2, min(4, X(82) // max(1, n_modules)))
    bar_w = module * n_modules
    out.append(f"^BY{module},3,{X(18)}^FO{(pw - bar_w) // 2},{X(86)}^BCN,{X(18)},Y,N,N,A"
               f"^FD{lb.tracking_number}^FS")
    out.append(f"^FO{X(3)},{X(111.5)}^GB{X(94)},0,2^FS")
    # QR (model 2, error correction M), magnification to fill about 32 mm.
    mag = max(2, min(10, X(32) // (_qr_width(len(lb.tracking_url.encode())) + 8)))
    out.append(f"^FO{X(4)},{X(113)}^BQN,2,{mag}^FDMA,{lb.tracking_url}^FS")
    _zfield(out, X(40), X(113.5), f"وزن: {ltr(f'{lb.weight_g:,}')} گرم", X(3.6), max_w=X(56))
    _zfield(out, X(40), X(118.5), f"تاریخ ثبت: {ltr(lb.booked_on)}", X(3.6), max_w=X(56))
    if lb.cod_rials is not None:
        out.append(f"^FO{X(40)},{X(125)}^GB{X(56)},{X(21)},{X(21)}^FS")
        _zfield(out, X(42), X(126), "پرداخت در محل", X(5.6), bold=True, max_w=X(52), invert=True)
        _zfield(out, X(42), X(135), f"{ltr(_rials(lb.cod_rials))} ریال", X(5.6), bold=True, max_w=X(52), invert=True)
    else:
        out.append(f"^FO{X(40)},{X(125)}^GB{X(56)},{X(21)},2^FS")
        _zfield(out, X(42), X(126), "پیش‌پرداخت", X(5.6), bold=True, max_w=X(52))
        _zfield(out, X(42), X(135), "وجهی دریافت نشود", X(4), max_w=X(52))
    out.append("^PQ1^XZ\n")
    return "".join(out)


def _zpl_safe(text: str) -> str:
    """Field data for a printer font: ASCII only, and none of ZPL's command characters."""
    return "".join(c for c in text if c.isascii() and c not in "^~")


def render(labels: Sequence[Label], fmt: str, size: str) -> bytes:
    if fmt == "pdf":
        return render_pdf(labels, size)
    if fmt == "png":
        return render_png(labels, size)
    return render_zpl(labels, size)


CONTENT_TYPES = {"pdf": "application/pdf", "png": "image/png", "zpl": "application/zpl"}
