"""Pure-Python twin of ``kernel/_isotime.pyx``: timestamps formatted by ``time.strftime``, the reference."""

from __future__ import annotations

import time


def iso_ms(ts: float) -> str:
    """ts (seconds since the epoch) as ISO 8601 in UTC with milliseconds and a Z."""
    ms = int(ts * 1000)
    sec, frac = divmod(ms, 1000)
    global _last
    last_sec, prefix = _last  # one tuple, replaced whole: safe to share between threads
    if sec != last_sec:  # most stamps share their second with the previous one
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _last = (sec, prefix)
    return "%s.%03dZ" % (prefix, frac)


_last: tuple[int | None, str] = (None, "")
