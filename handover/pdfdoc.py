"""Printable A4 documents with a table of rows (the collection manifest, money's COD statement): the page set-up
and the table drawing they share, in one place. Both are right to left, Persian, in the embedded font."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from fpdf import FPDF

from .pdftext import FONT_REGULAR, LabelProducer, TextWriter, label_font

ROW_H = 7.0  # mm: every table row, the head included
LEFT, RIGHT = 10.0, 200.0  # the table's edges on an A4 page


def a4_document(created: datetime) -> tuple[FPDF, TextWriter]:
    """An A4 portrait document without margins or automatic page breaks, dated ``created`` (the same content
    prints the same bytes), with its Persian text writer."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(0, 0, 0)
    pdf.set_auto_page_break(False)
    pdf.set_creator("Barid")
    pdf.set_creation_date(created)
    return pdf, TextWriter(pdf, label_font(FONT_REGULAR))


def page_count(rows: int, per_page: int) -> int:
    return max(1, -(-rows // per_page))


def table(pdf: FPDF, tw: TextWriter, y: float, cols: Sequence[tuple[float, float]], heads: Sequence[str],
          rows: Iterable[Sequence[str]], size: float) -> float:
    """The head in a box, then each row above a rule, every cell centred in its column (``cols``: x and width in
    mm, right to left as the heads are). Returns where the table ends."""
    pdf.rect(LEFT, y, RIGHT - LEFT, ROW_H)
    for (x, w), head in zip(cols, heads):
        tw.line(x, y, w, ROW_H, head, size, align="C", bold=True)
    y += ROW_H
    for cells in rows:
        pdf.line(LEFT, y + ROW_H, RIGHT, y + ROW_H)
        for (x, w), text in zip(cols, cells):
            tw.line(x, y, w, ROW_H, text, size, align="C")
        y += ROW_H
    return y


def output(pdf: FPDF) -> bytes:
    return bytes(pdf.output(output_producer_class=LabelProducer))
