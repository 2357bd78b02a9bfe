"""Persian text on fpdf2 pages without a font pass per document.

fpdf2 parses the TTF when a document adds it, runs every cell through its Python text pipeline, and subsets the font
with fontTools when the document is written; for a label that is nearly all of its cost, and fpdf2 subsets its
font object in place, so the object cannot be kept for the next document. Here the font is prepared once per
process and never changed afterwards:

- ``ShapedFont`` subsets Vazirmatn once to the characters a label uses (Persian, Arabic, Latin, digits,
  punctuation), keeping the OpenType layout tables, and shapes with HarfBuzz (uharfbuzz) on that same subset, so
  the glyph ids shaped are the glyph ids embedded. Its compressed bytes are computed once and shared by every PDF.
- The bidi algorithm is fpdf2's own (``fpdf.bidi``); lines of one direction only skip it.
- Glyphs are written as 2-byte codes equal to their glyph ids (``CIDToGIDMap /Identity``): no per-document code
  map, so a shaped line's operators are the same in every document and are cached. Each document embeds a
  ``/W`` widths array and a ``ToUnicode`` map of the glyphs it used (text extraction and search keep working).

``TextWriter(pdf)`` is attached to one FPDF document; ``LabelProducer`` is the output producer that adds the font
objects when the document is written (``pdf.output(output_producer_class=LabelProducer)``).
"""

from __future__ import annotations

import functools
import io
import re
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import uharfbuzz as hb
from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont
from fpdf.bidi import BidiParagraph
from fpdf.enums import FontDescriptorFlags, PDFResourceType, TextDirection
from fpdf.fonts import PDFFontDescriptor
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont, PDFFontStream
from fpdf.syntax import Name, PDFArray, PDFContentStream

# What a label can print: Basic Latin, Latin-1 punctuation and signs, Arabic with the Persian letters and digits,
# Arabic presentation forms, general punctuation (ZWNJ, dashes, quotes) and the bidi controls.
_RANGES = ((0x20, 0x7E), (0xA0, 0xFF), (0x600, 0x6FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF), (0x2000, 0x206F))
# Bidi controls are consumed by the bidi step and never drawn.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
LRI, PDI = "\u2066", "\u2069"
# The embedded free font (Vazirmatn, SIL Open Font License, fonts/OFL.txt), for PDF and ZPL alike.
FONT_REGULAR = Path(__file__).with_name("fonts") / "Vazirmatn-Regular.ttf"
FONT_BOLD = FONT_REGULAR.with_name("Vazirmatn-Bold.ttf")


def ltr(text: str) -> str:
    """``text`` as a left-to-right island inside a right-to-left line (postal codes, phones, numbers): without it
    the bidi algorithm turns digits after Persian letters into Arabic numbers and may swap the halves of 14589-73311."""
    return f"{LRI}{text}{PDI}" if text else text


def _is_rtl_char(c: str) -> bool:
    o = ord(c)
    return 0x590 <= o <= 0x8FF or 0xFB1D <= o <= 0xFEFC


def _is_ltr_char(c: str) -> bool:
    """Strong left-to-right letters and every digit (Latin or Persian): what makes a line need the bidi algorithm."""
    o = ord(c)
    return (c.isalnum() and not _is_rtl_char(c)) or 0x6F0 <= o <= 0x6F9 or 0x660 <= o <= 0x669


# The two tests above over a whole line at C speed (a label brings new lines all the time): \w is what isalnum()
# accepts, and the underscore.
_RTL_CHAR = re.compile("[\u0590-\u08ff\ufb1d-\ufefc]")
_LTR_CHAR = re.compile("[^\\W_\u0590-\u08ff\ufb1d-\ufefc]|[\u06f0-\u06f9\u0660-\u0669]")


@functools.lru_cache(maxsize=16384)
def fragments(text: str, rtl_base: bool = True) -> tuple[tuple[str, bool], ...]:
    """The line as (text, right-to-left) runs in logical order; one run when the line has one direction."""
    has_rtl = _RTL_CHAR.search(text) is not None
    has_ltr = _LTR_CHAR.search(text) is not None
    if not has_ltr:
        return ((text.translate(_BIDI_CONTROLS), True),)
    if not has_rtl and not any(c in text for c in (LRI, PDI)):
        return ((text.translate(_BIDI_CONTROLS), False),)
    if rtl_base:
        fast = _rtl_numbers_only(text)
        if fast is not None:
            return fast
    base = TextDirection.RTL if rtl_base else TextDirection.LTR
    out = []
    for frag, direction in BidiParagraph(text=text, base_direction=base).get_bidi_fragments():
        frag = frag.translate(_BIDI_CONTROLS)
        if frag:
            out.append((frag, direction == TextDirection.RTL))
    return tuple(out)


_DIGITS = frozenset("0123456789\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9")  # bidi class EN


def _rtl_numbers_only(text: str) -> tuple[tuple[str, bool], ...] | None:
    """UAX #9 for the common label line, in one pass: a right-to-left paragraph of Persian words, European digits
    and neutral punctuation, with left-to-right isolates (``ltr``) holding no right-to-left letters. Anything else
    (Latin letters outside an isolate, Arabic-Indic digits, embeddings, nested isolates) answers None and takes
    fpdf2's full algorithm. Tests check both agree.

    The rules that apply: digits after an Arabic letter are Arabic numbers (W2), else European (the paragraph
    starts right-to-left); one common separator (, . / :) between two numbers of the same kind joins them, and
    one European separator (+ -) joins only European numbers (W4); European terminators (% and the like) next to
    European digits join them (W5); every other neutral sits with the right-to-left text (N1); an isolate is one
    left-to-right run."""
    n = len(text)
    cls = list(map(_bidi_class, text))
    out: list[tuple[str, bool]] = []
    i, seg, seen_al = 0, [], False
    while i < n:
        c, k = text[i], cls[i]
        if k == "LRI":
            j = text.find(PDI, i + 1)
            if j < 0:
                return None
            inner = cls[i + 1:j]
            if any(x in ("R", "AL", "AN", "LRI", "RLI", "FSI", "LRE", "RLE", "LRO", "RLO", "PDF") for x in inner):
                return None
            if j == i + 1:  # an empty isolate is a neutral inside the right-to-left text
                seg.append(text[i:j + 1])
                i = j + 1
                continue
            if seg:
                out.append(("".join(seg), True))
                seg = []
            out.append((text[i + 1:j], False))
            i = j + 1
            continue
        if k in ("L", "AN", "RLI", "FSI", "PDI", "LRE", "RLE", "LRO", "RLO", "PDF", "B", "S"):
            return None
        if k == "R":
            return None  # Hebrew letters: leave them to the full algorithm
        if k == "AL":
            seen_al = True  # digits after an Arabic letter are Arabic numbers (W2)
            seg.append(c)
            i += 1
            continue
        if k == "EN":
            j = i
            if seen_al:  # Arabic number: digits, joined by one common separator
                while True:
                    while j < n and cls[j] == "EN":
                        j += 1
                    if j + 1 < n and cls[j] == "CS" and cls[j + 1] == "EN":
                        j += 1
                        continue
                    break
            else:  # European number: digits, one separator of either kind between digits, terminators around
                while seg and cls[i - 1] == "ET":  # terminators just before the digits
                    i -= 1
                    seg.pop()
                j = i
                while True:
                    while j < n and cls[j] in ("EN", "ET"):
                        j += 1
                    if j + 1 < n and cls[j] in ("CS", "ES") and cls[j - 1] == "EN" and cls[j + 1] == "EN":
                        j += 1
                        continue
                    break
            if seg:
                out.append(("".join(seg), True))
                seg = []
            out.append((text[i:j], False))
            i = j
            continue
        # neutrals (WS, ON, CS, ES, ET, NSM after a letter, BN) sit with the right-to-left text
        if k == "NSM" and (i == 0 or cls[i - 1] not in ("AL", "NSM")):
            return None  # a mark after a digit or a neutral: leave it to the full algorithm
        seg.append(c)
        i += 1
    if seg:
        out.append(("".join(seg), True))
    return tuple((f.translate(_BIDI_CONTROLS), r) for f, r in out if f.translate(_BIDI_CONTROLS))


@functools.lru_cache(maxsize=1024)
def _bidi_class(c: str) -> str:
    import unicodedata

    return unicodedata.bidirectional(c)


@dataclass(frozen=True, slots=True)
class Run:
    """One shaped run, glyphs in visual (left-to-right) order: (gid, x advance, x offset, y offset) in font units,
    and per glyph the text it stands for (for ToUnicode; '' for the second glyph of a cluster)."""

    glyphs: tuple[tuple[int, int, int, int], ...]
    texts: tuple[str, ...]
    advance: int


class ShapedFont:
    """One font, prepared once per process: the embedded subset, its widths, and HarfBuzz on the same bytes."""

    def __init__(self, path: Path, name: str) -> None:
        full = TTFont(path, recalcTimestamp=False)
        cmap = full.getBestCmap()
        unicodes = [u for lo, hi in _RANGES for u in range(lo, hi + 1) if u in cmap]
        options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, layout_features=["*"],
                                   name_IDs=["*"], glyph_names=False)
        options.drop_tables += ["FFTM", "meta", "hdmx"]
        sub = ftsubset.Subsetter(options)
        sub.populate(unicodes=unicodes)
        sub.subset(full)
        out = io.BytesIO()
        full.save(out)
        data = out.getvalue()
        font = TTFont(io.BytesIO(data))
        self.upem = font["head"].unitsPerEm
        metrics, order = font["hmtx"].metrics, font.getGlyphOrder()
        self.widths = [round(metrics[n][0] * 1000 / self.upem) for n in order]
        self.name = name
        head, hhea, os2, post = font["head"], font["hhea"], font["OS/2"], font["post"]
        s = 1000 / self.upem
        self.descriptor = dict(
            ascent=round(hhea.ascent * s), descent=round(hhea.descent * s),
            cap_height=round(getattr(os2, "sCapHeight", hhea.ascent) * s),
            flags=FontDescriptorFlags.SYMBOLIC,
            font_b_box=f"[{head.xMin * s:.0f} {head.yMin * s:.0f} {head.xMax * s:.0f} {head.yMax * s:.0f}]",
            italic_angle=int(post.italicAngle), stem_v=round(50 + int(pow((os2.usWeightClass / 65), 2))),
            missing_width=self.widths[0])
        self.raw_len = len(data)
        self.compressed = zlib.compress(data)
        self._hb = hb.Font(hb.Face(hb.Blob(data)))
        self._lock = threading.Lock()  # a HarfBuzz buffer per call; the font object is shared

    @functools.lru_cache(maxsize=16384)  # noqa: B019  (the font lives as long as the process)
    def shape(self, text: str, rtl: bool) -> Run:
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        buf.direction = "rtl" if rtl else "ltr"
        with self._lock:
            hb.shape(self._hb, buf, {"kern": True, "liga": True})
        infos, positions = buf.glyph_infos, buf.glyph_positions
        starts = sorted({i.cluster for i in infos})
        ends = {c: (starts[k + 1] if k + 1 < len(starts) else len(text)) for k, c in enumerate(starts)}
        seen, glyphs, texts, adv = set(), [], [], 0
        for info, pos in zip(infos, positions):
            glyphs.append((info.codepoint, pos.x_advance, pos.x_offset, pos.y_offset))
            c = info.cluster
            texts.append("" if c in seen else text[c:ends[c]])
            seen.add(c)
            adv += pos.x_advance
        return Run(tuple(glyphs), tuple(texts), adv)

    def word_pt(self, word: str, size_pt: float) -> float:
        """A word's width: one direction is enough to measure it (the advance does not depend on the order)."""
        return self.shape(word.translate(_BIDI_CONTROLS), any(map(_is_rtl_char, word))).advance * size_pt / self.upem

    def width_pt(self, text: str, size_pt: float, rtl_base: bool = True) -> float:
        return sum(self.shape(f, r).advance for f, r in fragments(text, rtl_base)) * size_pt / self.upem


@functools.lru_cache(maxsize=2)
def label_font(path: Path) -> ShapedFont:
    return ShapedFont(path, "Vazirmatn")


FONT_INDEX = 1  # the document's only font: /F1


class TextWriter:
    """Writes shaped lines into the current page of one FPDF document, and remembers the glyphs it used."""

    def __init__(self, pdf, font: ShapedFont) -> None:
        self.pdf, self.font = pdf, font
        self.used: dict[int, str] = {}
        self._pages: set[int] = set()
        pdf._barid_text = self  # read back by LabelProducer when the document is written

    def line(self, x_mm: float, y_mm: float, w_mm: float, h_mm: float, text: str, size_pt: float,
             align: str = "R", bold: bool = False, white: bool = False) -> None:
        """One line in the box (x, y, w, h), vertically centred as fpdf2's cell does, right-to-left base."""
        if not text:
            return
        pdf = self.pdf
        ops, used = _line_ops(self.font, round(x_mm * pdf.k, 2), round(pdf.h_pt - y_mm * pdf.k, 2),
                              round(w_mm * pdf.k, 2), round(h_mm * pdf.k, 2), text, round(size_pt, 3), align, bold,
                              white)
        for gid, txt in used:
            if txt and gid not in self.used:
                self.used[gid] = txt
            else:
                self.used.setdefault(gid, "")
        if pdf.page not in self._pages:
            self._pages.add(pdf.page)
            pdf._resource_catalog.add(PDFResourceType.FONT, FONT_INDEX, pdf.page)
        pdf._out(ops)

    def wrap(self, text: str, w_mm: float, size_pt: float, max_lines: int) -> list[str]:
        """Greedy word wrap in logical order, words measured one by one (shaped and cached each, so a long address
        costs no bidi pass per trial); the last line is cut with an ellipsis if the text is longer."""
        limit = w_mm * self.pdf.k
        space = self.font.width_pt(" ", size_pt)
        words, lines, cur, cur_w = text.split(), [], [], 0.0
        for word in words:
            ww = self.font.word_pt(word, size_pt)
            if cur and cur_w + space + ww > limit:
                lines.append(" ".join(cur))
                cur, cur_w = [], 0.0
                if len(lines) == max_lines:
                    break
            cur_w += (space if cur else 0.0) + ww
            cur.append(word)
        else:
            if cur:
                lines.append(" ".join(cur))
            return lines
        last = lines[-1]
        while last and self.font.width_pt(last + " …", size_pt) > limit:
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        lines[-1] = last + " …"
        return lines


@functools.lru_cache(maxsize=16384)
def _line_ops(font: ShapedFont, x: float, top: float, w: float, h: float, text: str, size: float, align: str,
              bold: bool, white: bool) -> tuple[str, tuple[tuple[int, str], ...]]:
    """The content-stream operators of one line (points, PDF coordinates) and the glyphs it uses."""
    runs = [font.shape(f, r) for f, r in fragments(text)]
    runs.reverse()  # right-to-left base: the first logical run is drawn rightmost
    k = size / font.upem
    total = sum(r.advance for r in runs) * k
    if align == "C":
        pen = x + (w - total) / 2
    elif align == "L":
        pen = x
    else:
        pen = x + w - total
    # fpdf2's cell: the baseline at half the box plus 0.3 of the font size
    base = top - (h / 2 + 0.3 * size)
    out = ["q " if bold else "", "BT ", "1 g " if white else "0 g ", f"/F{FONT_INDEX} {size:.2f} Tf "]
    if bold:
        # one embedded font: bold is the same outlines stroked as well as filled (text render mode 2)
        out.insert(1, f"{size * 0.0342:.3f} w {'1' if white else '0'} G ")
        out.append("2 Tr ")
    used = []
    for run in runs:
        out.append(f"1 0 0 1 {pen:.2f} {base:.2f} Tm [")
        x_pen, moved = pen, False
        for (gid, xa, xo, yo), txt in zip(run.glyphs, run.texts):
            used.append((gid, txt))
            if xo or yo:
                out.append(f"] TJ 1 0 0 1 {x_pen + xo * k:.2f} {base + yo * k:.2f} Tm [<{gid:04X}>")
                moved = True
            else:
                if moved:
                    out.append(f"] TJ 1 0 0 1 {x_pen:.2f} {base:.2f} Tm [")
                    moved = False
                out.append(f"<{gid:04X}>")
            adj = font.widths[gid] - xa * 1000 / font.upem if gid < len(font.widths) else 0
            if abs(adj) > 0.05:
                out.append(f"{adj:.1f}")
            x_pen += xa * k
        out.append("] TJ ")
        pen = x_pen
    out.append("ET")
    if bold:
        out.append(" Q")
    return "".join(out), tuple(used)


def _widths_array(widths: dict[int, int]) -> str:
    """The CID font's /W array, ``[first [w w ...] ...]`` for each run of consecutive glyph ids."""
    out, run, first, prev = [], [], -2, -2
    for gid in sorted(widths):
        if gid != prev + 1 and run:
            out.append(f"{first} [{' '.join(run)}]")
            run = []
        if not run:
            first = gid
        run.append(str(widths[gid]))
        prev = gid
    if run:
        out.append(f"{first} [{' '.join(run)}]")
    return "[" + " ".join(out) + "]"


def _to_unicode(used: dict[int, str]) -> bytes:
    lines = []
    for gid, txt in sorted(used.items()):
        if not txt:
            continue
        hexed = "".join(f"{u:04X}" if u <= 0xFFFF else
                        f"{0xD800 | (u - 0x10000) >> 10:04X}{0xDC00 | (u & 0x3FF):04X}" for u in map(ord, txt))
        lines.append(f"<{gid:04X}> <{hexed}>")
    blocks = []
    for i in range(0, len(lines), 100):
        chunk = lines[i:i + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar\n")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n"
            "<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n/CMapName /Adobe-Identity-UCS def\n"
            "/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "".join(blocks)
            + "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend").encode("latin-1")


class LabelProducer(OutputProducer):
    """fpdf2's output producer, plus the shared font of a document written with ``TextWriter``."""

    def _add_fonts(self, *args, **kwargs):
        objs = super()._add_fonts(*args, **kwargs)
        writer: TextWriter | None = getattr(self.fpdf, "_barid_text", None)
        if writer is None or not writer.used:
            return objs
        font = writer.font
        base = f"BARIDA+{font.name}"
        composite = PDFFont(subtype="Type0", base_font=base, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        widths = {gid: font.widths[gid] for gid in writer.used if gid < len(font.widths)}
        cid = PDFFont(subtype="CIDFontType2", base_font=base, d_w=font.widths[0], w=_widths_array(widths))
        self._add_pdf_obj(cid, "fonts")
        composite.descendant_fonts = PDFArray([cid])
        to_unicode = PDFContentStream(_to_unicode(writer.used), compress=True)
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode
        info = CIDSystemInfo()
        self._add_pdf_obj(info, "fonts")
        cid.c_i_d_system_info = info
        desc = PDFFontDescriptor(**font.descriptor)
        desc.font_name = Name(base)
        self._add_pdf_obj(desc, "fonts")
        cid.font_descriptor = desc
        cid.c_i_d_to_g_i_d_map = Name("Identity")
        stream = PDFFontStream(contents=b"")
        stream._contents, stream.length, stream.length1 = font.compressed, len(font.compressed), font.raw_len
        self._add_pdf_obj(stream, "fonts")
        desc.font_file2 = stream
        objs[FONT_INDEX] = composite
        return objs
