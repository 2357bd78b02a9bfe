"""Persian text for ZPL: every line a 1-bit ``^GF`` graphic field, so a thermal printer needs no font.

A line is cut into words (the bidi runs from handover.pdftext; Persian letters never join across a space, so the
words' own shapes are the line's). A word is shaped once by HarfBuzz (uharfbuzz, the engine Pillow's raqm uses)
and drawn from a per-process cache of glyph bitmaps: FreeType (through Pillow) renders each glyph of a size once,
and a new word costs a shaping call and a few integer operations instead of a FreeType layout and rasterisation.
The bitmaps are the ones Pillow's own text drawing makes: it renders every glyph at a whole-pixel position, rounded
from the shaped pen position, and the positions and bounds here are computed the same way. A word whose characters
mix directions (digits inside a Persian word, say) is left to Pillow's own layout, which runs the bidi algorithm.

Bitmaps are Python integers, one per row (the most significant bit the leftmost dot, 1 = black, as ZPL has it),
so placing a word is a shift and an OR, and a field's hex is one ``int.to_bytes``.
"""

from __future__ import annotations

import functools
import io
import threading
from collections import OrderedDict
from pathlib import Path

import uharfbuzz as hb
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from PIL import Image, ImageFont

from .pdftext import fragments

FONT_DIR = Path(__file__).with_name("fonts")
FONT_REGULAR = FONT_DIR / "Vazirmatn-Regular.ttf"
FONT_BOLD = FONT_DIR / "Vazirmatn-Bold.ttf"

# Every glyph is also mapped from a private-use code point (PUA + glyph id), so Pillow renders a shaped glyph by
# its id. The font's own Unicode map stays: FreeType's auto-hinter finds its reference letters through it, and
# without them the stems come out a dot thinner.
PUA = 0xF0000
LINE_HEIGHT = 1.45  # a field's height, in font sizes
BASELINE_TOP = 0.2  # where the ascender line sits below the field's top, in font sizes
WORD_CACHE = 16384  # words kept per process (least recently used first out)


def _path(bold: bool) -> Path:
    return FONT_BOLD if bold else FONT_REGULAR


@functools.lru_cache(maxsize=8)
def pil_font(px: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_path(bold)), px, layout_engine=ImageFont.Layout.RAQM)


@functools.lru_cache(maxsize=2)
def _glyph_font_bytes(bold: bool) -> bytes:
    font = TTFont(str(_path(bold)), recalcTimestamp=False)
    cmap = dict(font.getBestCmap())
    cmap.update({PUA + gid: name for gid, name in enumerate(font.getGlyphOrder())})
    table = CmapSubtable.newSubtable(12)
    table.platformID, table.platEncID, table.language, table.cmap = 3, 10, 0, cmap
    font["cmap"].tables = [table]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@functools.lru_cache(maxsize=8)
def _glyph_font(px: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(io.BytesIO(_glyph_font_bytes(bold)), px, layout_engine=ImageFont.Layout.BASIC)


@functools.lru_cache(maxsize=8)
def _hb_font(px: int, bold: bool) -> hb.Font:
    font = hb.Font(_hb_face(bold))
    font.scale = (px * 64, px * 64)  # 26.6 units, as FreeType's size for ``px`` pixels gives HarfBuzz
    return font


@functools.lru_cache(maxsize=2)
def _hb_face(bold: bool) -> hb.Face:
    return hb.Face(hb.Blob.from_file_path(str(_path(bold))))


class Word:
    """One word's ink on a bitmap of the line's height, and its advance in dots."""

    __slots__ = ("advance", "width", "rows", "_stacked")

    def __init__(self, advance: int, width: int, rows: tuple[int, ...]) -> None:
        self.advance = advance  # dots to the next word
        self.width = width  # the bitmap's width (ink may reach past the advance)
        self.rows = rows  # 1 = black, most significant bit leftmost
        self._stacked: dict[int, int] = {}

    def stacked(self, field_width: int) -> int:
        """The rows as one integer with rows ``field_width`` bits apart: placed in a field of that width with a
        single shift and OR, when the word lies wholly inside it."""
        got = self._stacked.get(field_width)
        if got is None:
            got = 0
            for bits in self.rows:
                got = (got << field_width) | bits
            self._stacked[field_width] = got
        return got


class _LRU:
    """A bounded map shared by the threads of a process (a bulk job renders in a worker thread)."""

    def __init__(self, size: int) -> None:
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)


_words = _LRU(WORD_CACHE)


def word(text: str, px: int, bold: bool, rtl: bool) -> Word:
    """One word's ink on a field-high bitmap and its advance (what Pillow's ImageDraw.text draws for it)."""
    key = (text, px, bold, rtl)
    got = _words.get(key)
    if got is None:
        got = _pillow_word(text, px, bold, rtl)
        _words.put(key, got)
    return got


def _pillow_word(text: str, px: int, bold: bool, rtl: bool) -> Word:
    """What ``ImageDraw.text`` draws for the word on a 1-bit mask of the line's height, taken straight from the
    font's rendering (``getmask2``) into row integers."""
    font = pil_font(px, bold)
    direction = "rtl" if rtl else "ltr"
    advance = max(1, round(font.getlength(text, direction=direction)))
    left, _, right, _ = font.getbbox(text, direction=direction)
    width = max(advance, right) + max(0, -left)
    height = max(1, int(px * LINE_HEIGHT))
    mask, (ox, oy) = font.getmask2(text, "1", direction=direction, start=(0.0, 0.0))
    x, y0 = max(0, -left) + ox, int(px * BASELINE_TOP) + oy
    mw, mh = mask.size
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
    """Text rendered to a 1-bit ^GF field: (width in dots, height, ZPL field body ``^GFA,...``). Right-aligned in
    ``max_w`` dots when given (the text is cut on the left, where an RTL line ends, if it is too long)."""
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
    field, cut = 0, None
    for glyphs, advance in items:
        if glyphs is not None:
            s = w - x - glyphs.width
            if s >= 0 and x >= 0:
                field |= glyphs.stacked(w) << s
            else:  # past an edge of the field: row by row, clipped
                cut = cut or [0] * th
                for r, bits in enumerate(glyphs.rows):
                    cut[r] |= bits << s if s >= 0 else bits >> -s
        x += advance
    if cut:
        full, extra = (1 << w) - 1, 0
        for bits in cut:
            extra = (extra << w) | (bits & full)
        field |= extra
    size = w // 8 * th
    return w, th, f"^GFA,{size},{size},{w // 8},{field.to_bytes(size, 'big').hex().upper()}"
