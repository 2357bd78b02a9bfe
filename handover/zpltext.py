"""Persian text for ZPL: every line a 1-bit ``^GF`` graphic field, so a thermal printer needs no font.

A line is cut into words (the bidi runs from handover.pdftext; Persian letters never join across a space, so the
words' own shapes are the line's). Each word is laid out and rendered by Pillow with raqm (HarfBuzz + FriBidi)
once per process and kept in a bounded cache (least recently used out): a label's words (street, alley, common
names, digits) repeat far more than its lines do. A new word costs one measuring call (its advance) and one
rendering call, whose bitmap and ink box are taken as they are.

Bitmaps are Python integers, one per row (the most significant bit the leftmost dot, 1 = black, as ZPL has it):
a word seen before is placed in a field with one shift and one OR of its rows stacked at the field's width, and
the field becomes bytes with one ``int.to_bytes``, cropped to its ink. What prints is what ``ImageDraw.text``
drew word by word before.
"""

from __future__ import annotations

import functools
from base64 import b16encode
from pathlib import Path

from PIL import Image, ImageFont

from .pdftext import FONT_BOLD, FONT_REGULAR, fragments

LINE_HEIGHT = 1.45  # a field's height, in font sizes
BASELINE_TOP = 0.2  # where the ascender line sits below the field's top, in font sizes
WORD_CACHE = 8192  # words kept per process (least recently used first out)


def _path(bold: bool) -> Path:
    return FONT_BOLD if bold else FONT_REGULAR


@functools.lru_cache(maxsize=8)
def pil_font(px: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_path(bold)), px, layout_engine=ImageFont.Layout.RAQM)


class Word:
    """One word's ink on a bitmap of the line's height, and its advance in dots."""

    __slots__ = ("advance", "width", "rows", "_stacked")

    def __init__(self, advance: int, width: int, rows: tuple[int, ...]) -> None:
        self.advance = advance  # dots to the next word
        self.width = width  # the bitmap's width (ink may reach past the advance)
        self.rows = rows  # 1 = black, most significant bit leftmost
        self._stacked: dict[int, int] | None = None  # field width -> rows stacked; made on the second use

    def stacked(self, field_width: int) -> int | None:
        """The rows as one integer with rows ``field_width`` bits apart, so the word is placed in a field of that
        width with a single shift and OR. None the first time: a word printed once (a house number) is placed
        row by row and keeps no field-wide integer."""
        if self._stacked is None:
            self._stacked = {}
            return None
        got = self._stacked.get(field_width)
        if got is None:
            got = 0
            for bits in self.rows:
                got = (got << field_width) | bits
            self._stacked[field_width] = got
        return got


@functools.lru_cache(maxsize=WORD_CACHE)
def word(text: str, px: int, bold: bool, rtl: bool) -> Word:
    """One word's ink on a field-high bitmap and its advance: what ImageDraw.text draws for it on a 1-bit mask of
    the line's height, taken straight from the font's rendering (getmask2) into row integers."""
    font = pil_font(px, bold)
    direction = "rtl" if rtl else "ltr"
    advance = max(1, round(font.getlength(text, direction=direction)))
    mask, (ox, oy) = font.getmask2(text, "1", direction=direction, start=(0.0, 0.0))
    mw, mh = mask.size
    # The ink's box is the rendering's own (hinted for 1 bit), not a separate measuring pass: the two differ, when
    # they do, by a dot on the right, inside the word's advance, where it changes nothing printed.
    shift = max(0, -ox)
    width = max(advance, ox + mw) + shift
    height = max(1, int(px * LINE_HEIGHT))
    x, y0 = shift + ox, int(px * BASELINE_TOP) + oy
    rows = [0] * height
    if mw and mh:
        raw = Image.Image()._new(mask).tobytes()
        s, full = width - x - mw, (1 << width) - 1
        for r in range(max(0, -y0), min(mh, height - y0)):
            bits = int(raw[r * mw:(r + 1) * mw].translate(_BITS), 2)
            rows[y0 + r] = (bits << s if s >= 0 else bits >> -s) & full
    return Word(advance, width, tuple(rows))


_BITS = bytes([ord("0")] + [ord("1")] * 255)  # a mask byte (0 or 255) to a binary digit


@functools.lru_cache(maxsize=16)
def _space(px: int, bold: bool) -> int:
    return max(1, round(pil_font(px, bold).getlength(" ")))


@functools.lru_cache(maxsize=8192)
def text_field(text: str, px: int, bold: bool = False, max_w: int = 0) -> tuple[int, int, str]:
    """Text rendered to a 1-bit ^GF field: (dots right, dots down, ZPL field body ``^GFA,...``), the offsets
    placing the field in the line's box. Right-aligned in ``max_w`` dots when given (the text is cut on the left,
    where an RTL line ends, if it is too long).

    The field is cropped to the bytes with ink: whole white bytes on the left of a right-aligned line and white
    rows above and below are left out and the field moved by as much, so the printer puts every dot where it was
    and a label is a fraction of the plain bitmap, in the plain hex every ZPL printer reads."""
    space = _space(px, bold)
    items: list[tuple[Word | None, int]] = []  # words and spaces, visual order, left to right
    for frag, rtl in reversed(fragments(text)):
        run: list[tuple[Word | None, int]] = []
        for i, part in enumerate(frag.split(" ")):
            if i:
                run.append((None, space))
            if part:
                w = word(part, px, bold, rtl)
                run.append((w, w.advance))
        items.extend(reversed(run) if rtl else run)
    th = max(1, int(px * LINE_HEIGHT))
    tw = max(1, sum(a for _, a in items))
    w = ((max_w or tw) + 7) // 8 * 8
    x = w - tw if max_w else 0
    dx = max(0, x) // 8 * 8  # nothing is drawn left of the first word: those bytes are left out below
    field, cut = 0, None
    for glyphs, advance in items:
        if glyphs is not None:
            s = w - x - glyphs.width
            stacked = glyphs.stacked(w) if s >= 0 and x >= 0 else None
            if stacked is not None:
                field |= stacked << s
            else:  # row by row (clipped where the word is past an edge of the field)
                cut = cut or [0] * th
                for r, bits in enumerate(glyphs.rows):
                    cut[r] |= bits << s if s >= 0 else bits >> -s
        x += advance
    if cut:
        full, extra = (1 << w) - 1, 0
        for bits in cut:
            extra = (extra << w) | (bits & full)
        field |= extra
    row = w // 8
    raw = field.to_bytes(row * th, "big")
    top = (len(raw) - len(raw.lstrip(b"\0"))) // row
    bottom = (len(raw) - len(raw.rstrip(b"\0"))) // row
    if top == th:  # no ink at all: one white row
        top, bottom = 0, th - 1
    skip = dx // 8
    if skip:
        raw = b"".join([raw[i + skip:i + row] for i in range(top * row, (th - bottom) * row, row)])
    else:
        raw = raw[top * row:len(raw) - bottom * row]
    return dx, top, f"^GFA,{len(raw)},{len(raw)},{row - skip},{b16encode(raw).decode()}"
