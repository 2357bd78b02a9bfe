"""The two codes on a label, as modules: Code 128 of the S10 number (python-barcode picks the code sets and the check
symbol) and the QR code of the tracking URL (segno). PDF draws them as vector rectangles; ZPL only needs their
sizes, the printer draws them itself."""

from __future__ import annotations

import functools
import re

import segno
from barcode.codex import Code128


@functools.lru_cache(maxsize=4096)
def code128_modules(data: str) -> str:
    """Code 128 of ``data`` as a string of modules ('1' bar, '0' space), start to stop, without quiet zones
    (python-barcode picks the code sets and the check symbol)."""
    return Code128(data).build()[0]


_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")


def code128_length(data: str) -> int:
    """Modules of ``data``'s Code 128 symbol, what ZPL needs (the printer draws the bars). python-barcode's code set
    choice follows whether characters are digits, not which digits: every S10 number of one shape has the same
    length, measured once for the shape instead of encoding each number."""
    return _code128_length(_DIGIT.sub("0", data) if _S10.fullmatch(data) else data)


_DIGIT = re.compile(r"[0-9]")


@functools.lru_cache(maxsize=256)
def _code128_length(data: str) -> int:
    return len(code128_modules(data))


def _runs(modules: str) -> list[tuple[int, int]]:
    """(first module, width) of every bar."""
    runs, i, n = [], 0, len(modules)
    while i < n:
        if modules[i] == "1":
            j = i
            while j < n and modules[j] == "1":
                j += 1
            runs.append((i, j - i))
            i = j
        else:
            i += 1
    return runs


@functools.lru_cache(maxsize=4096)
def qr_matrix(data: str) -> tuple[tuple[int, ...], ...]:
    """The QR symbol's modules (1 dark), error correction M, without the quiet zone."""
    qr = segno.make_qr(data, error="m", boost_error=False, mask=_qr_mask(len(data), data[:-13]))
    return tuple(tuple(row) for row in qr.matrix)


@functools.lru_cache(maxsize=256)
def _qr_mask(length: int, prefix: str) -> int:
    """The mask segno scores best for the first tracking URL of this shape (same base URL and length), reused for
    the others: scoring the eight masks is most of a QR code's cost, and URLs that differ only in the tracking
    number's characters score alike. Any mask is valid to a reader; the choice only avoids confusing patterns."""
    return segno.make_qr(prefix + "A" * (length - len(prefix)), error="m", boost_error=False).mask


@functools.lru_cache(maxsize=256)
def _qr_width(n_bytes: int) -> int:
    """Modules across the QR symbol of any URL of this many bytes (byte mode, error correction M): the printer
    encodes it (^BQ), so only its size is needed here, without encoding the data and scoring its masks."""
    return segno.make_qr("a" * n_bytes, mode="byte", error="m", boost_error=False, mask=0).symbol_size(border=0)[0]


def _qr_rects(matrix: tuple[tuple[int, ...], ...]) -> list[tuple[int, int, int]]:
    """(row, first column, width) of every horizontal run of dark modules: far fewer rectangles than modules."""
    rects = []
    for r, row in enumerate(matrix):
        c, n = 0, len(row)
        while c < n:
            if row[c]:
                s = c
                while c < n and row[c]:
                    c += 1
                rects.append((r, s, c - s))
            else:
                c += 1
    return rects
