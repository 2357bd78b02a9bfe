"""ZPL text as a thermal printer receives it: every Persian line a graphic field that prints exactly what Pillow
draws for it word by word, cropped to its ink so a label is small enough for a serial line."""

from __future__ import annotations

import re

import pytest
from PIL import Image, ImageDraw
from zebrafy import ZebrafyZPL

from handover.labels import Label, render_zpl
from handover.pdftext import fragments, ltr
from handover.zpltext import pil_font, text_field

LINES = [
    ("گیرنده: گیرنده شماره 4821", 37, True, 736),
    ("خیابان چهارباغ، کوچه 17، پلاک 9، طبقهٔ دوم، واحد ۴", 29, False, 736),
    (f"موبایل: {ltr('09131234567')}", 29, False, 736),
    (f"مرسوله {ltr('2')} از {ltr('3')} — مسیر: THR-06 > THR-HUB > IFN-01", 24, False, 736),
    ("پیش‌پرداخت", 45, True, 416),
    (f"{ltr('12,000,000')} ریال", 45, True, 416),
    ("پیشتاز", 48, True, 0),
    ("فروشگاه «نمونه» Shop-1 و John Smith", 27, True, 736),
    ("خیابان " * 20, 29, False, 736),  # longer than the field: cut on the left, where the line ends
]


def _reference(text: str, px: int, bold: bool, max_w: int) -> Image.Image:
    """What the label printed before the renderer kept words as integers: every word drawn by ImageDraw.text on
    its own mask (one measuring of its advance and its box), pasted right to left (black = 0)."""
    font = pil_font(px, bold)
    space = max(1, round(font.getlength(" ")))
    th = max(1, int(px * 1.45))
    items = []
    for frag, rtl in reversed(fragments(text)):
        run = []
        for i, part in enumerate(frag.split(" ")):
            if i:
                run.append((None, space))
            if part:
                d = "rtl" if rtl else "ltr"
                advance = max(1, round(font.getlength(part, direction=d)))
                left, _, right, _ = font.getbbox(part, direction=d)
                mask = Image.new("1", (max(advance, right) + max(0, -left), th), 0)
                ImageDraw.Draw(mask).text((max(0, -left), int(px * 0.2)), part, font=font, fill=1, direction=d)
                run.append((mask, advance))
        items.extend(reversed(run) if rtl else run)
    tw = max(1, sum(a for _, a in items))
    w = ((max_w or tw) + 7) // 8 * 8
    img = Image.new("1", (w, th), 1)
    x = w - tw if max_w else 0
    for mask, advance in items:
        if mask is not None:
            img.paste(0, (x, 0), mask)
        x += advance
    return img


def _decoded(body: str) -> Image.Image:
    [image] = ZebrafyZPL(body + "^FS").to_images()
    return image.convert("1")


@pytest.mark.parametrize("text, px, bold, max_w", LINES)
def test_a_text_field_prints_what_pillow_draws(text, px, bold, max_w):
    dx, dy, body = text_field(text, px, bold, max_w)
    field = _decoded(body)
    reference = _reference(text, px, bold, max_w)
    page = Image.new("1", reference.size, 1)
    page.paste(field, (dx, dy))
    assert page.tobytes() == reference.tobytes()
    # cropped to its ink: no white row above or below it, nothing of the line box left of the first word
    assert field.crop((0, 0, field.width, 1)).getextrema()[0] == 0
    assert field.crop((0, field.height - 1, field.width, field.height)).getextrema()[0] == 0
    assert max_w == 0 or field.width < max_w or len(text) > 60


def test_a_zpl_label_is_compact_and_every_field_decodes():
    doc = {"tracking_number": "EP123456785IR", "created_at": "2026-12-01T10:00:00.000Z", "service": "pishtaz",
           "receiver": {"name": "مریم احمدی", "phone": "09131234567", "postal_code": "8138634561",
                        "address": "خیابان چهارباغ بالا، کوچه ۱۲، پلاک ۳۴", "city": "اصفهان", "province": "اصفهان"},
           "sender": {"name": "فروشگاه نمونه", "phone": "02188776655", "address": "خیابان آزادی",
                      "city": "تهران", "postal_code": "1458973311"},
           "parcel": {"weight_g": 1200}, "payment": {"type": "cod", "goods_value": 12_000_000},
           "delivering_office": "IFN-01"}
    label = Label.from_shipment(doc, "https://barid.example/track/EP123456785IR", "اداره پست مرکزی اصفهان",
                                ("THR-HUB", "IFN-HUB", "IFN-01"))
    zpl = render_zpl([label], "100x150").decode("ascii")
    # With every field as wide as its line box a label was about 96 KB: minutes a roll on a 9600-baud serial line,
    # and a bulk job of thousands of labels hundreds of megabytes.
    assert len(zpl) < 45_000
    fields = re.findall(r"\^GFA,\d+,\d+,\d+,[^^]+\^FS", zpl)
    assert len(fields) >= 15
    for field in fields:
        assert _decoded(field[:-3]).getextrema()[0] == 0  # ink in every field
