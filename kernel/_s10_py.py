# cython: annotation_typing=False, boundscheck=True, wraparound=True
"""The UPU S10 check digit and tracking number, written once (``s10.py`` explains the standard and parses).

One source, two builds: this file is the pure-Python kernel (``kernel._s10_py``), and ``kernel/_s10_c.py``, a
symlink to it, is compiled by Cython with the C integer types in ``_s10_c.pxd``. Keep it plain Python, without
``import cython``.
"""

from __future__ import annotations

SERIAL_MAX = 99_999_999


def check_digit(serial: int) -> int:
    """The S10 check digit of an 8-digit serial: weights 8 6 4 2 3 5 9 7, C = 11 - (sum mod 11), 10 -> 0, 11 -> 5."""
    if not 0 <= serial <= SERIAL_MAX:
        raise ValueError(f"S10 serial must be 0..{SERIAL_MAX}, got {serial}")
    n = serial
    total = 7 * (n % 10)
    n //= 10
    total += 9 * (n % 10)
    n //= 10
    total += 5 * (n % 10)
    n //= 10
    total += 3 * (n % 10)
    n //= 10
    total += 2 * (n % 10)
    n //= 10
    total += 4 * (n % 10)
    n //= 10
    total += 6 * (n % 10)
    total += 8 * (n // 10)
    c = 11 - total % 11
    return 0 if c == 10 else 5 if c == 11 else c


def s10_number(indicator: str, serial: int, country: str) -> str:
    """indicator, the 8-digit serial, its check digit and country: the S10 tracking number (ValueError for a
    serial outside 0..99999999)."""
    digit = check_digit(serial)
    return f"{indicator}{serial:08d}{digit}{country}"
