# cython: language_level=3, boundscheck=False, wraparound=False
"""Timestamps as ISO 8601 in UTC with milliseconds, as every booking, scan and record carries them, formatted in
C from gmtime_r. Its twin ``kernel/_isotime_py.py`` formats with ``time.strftime``, the reference the tests hold
this one to.
"""

from libc.time cimport time_t, tm

import time

cdef extern from "<time.h>" nogil:
    tm* gmtime_r(const time_t* timer, tm* result)


cdef long long ISO_SEC_MAX = 253_402_300_800  # 10000-01-01: beyond it strftime's year has five digits


def iso_ms(double ts):
    """ts (seconds since the epoch) as ISO 8601 in UTC with milliseconds and a Z."""
    cdef double scaled = ts * 1000.0
    if not 0.0 <= scaled < <double>ISO_SEC_MAX * 1000.0:
        return _iso_ms_slow(ts)
    cdef long long ms = <long long>scaled
    cdef time_t sec = ms // 1000
    cdef int frac = ms % 1000
    cdef tm t
    gmtime_r(&sec, &t)
    cdef char[24] buf
    _put_digits(buf, t.tm_year + 1900, 4)
    buf[4] = b"-"[0]
    _put_digits(buf + 5, t.tm_mon + 1, 2)
    buf[7] = b"-"[0]
    _put_digits(buf + 8, t.tm_mday, 2)
    buf[10] = b"T"[0]
    _put_digits(buf + 11, t.tm_hour, 2)
    buf[13] = b":"[0]
    _put_digits(buf + 14, t.tm_min, 2)
    buf[16] = b":"[0]
    _put_digits(buf + 17, t.tm_sec, 2)
    buf[19] = b"."[0]
    _put_digits(buf + 20, frac, 3)
    buf[23] = b"Z"[0]
    return buf[:24].decode("ascii")


cdef inline void _put_digits(char* p, int n, int width):
    cdef int i
    for i in range(width - 1, -1, -1):
        p[i] = b"0"[0] + n % 10
        n //= 10


def _iso_ms_slow(ts):  # before 1970 or after 9999: what the twin does
    sec, frac = divmod(int(ts * 1000), 1000)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)), frac)
