# cython: language_level=3, boundscheck=False, wraparound=False
"""The RESP encoding of a batch of store commands, written into one preallocated buffer (hiredis formats every
argument's length with sprintf and allocates per command). Its twin ``kernel/_resp_py.py`` is hiredis's own
packer, the reference the tests hold this one to byte for byte: the protocol is hiredis's, not a rule of ours.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.string cimport memcpy


cdef inline Py_ssize_t _decimal_len(unsigned long long n):
    cdef Py_ssize_t digits = 1
    while n >= 10:
        n //= 10
        digits += 1
    return digits


cdef inline char* _put_decimal(char* p, unsigned long long n):
    cdef Py_ssize_t digits = _decimal_len(n), i
    for i in range(digits - 1, -1, -1):
        p[i] = <char>(48 + n % 10)
        n //= 10
    return p + digits


cdef bytes _spelled(object arg):
    """An argument the way hiredis writes it: int as str(), float as repr(), a memoryview's bytes."""
    if type(arg) is float:
        return repr(arg).encode("ascii")
    if type(arg) is memoryview:
        return bytes(arg)
    return str(arg).encode("ascii")


cdef inline unsigned long long _magnitude(long long n):
    # -n overflows for the most negative long long; -(n + 1) + 1 in unsigned arithmetic does not
    return <unsigned long long>(-(n + 1)) + 1 if n < 0 else <unsigned long long>n


cdef inline bint _small_int(object arg, long long* out):
    cdef int overflow = 0
    out[0] = PyLong_AsLongLongAndOverflow(arg, &overflow)
    return overflow == 0


def pack_commands(list commands):
    # Two passes over the arguments: sizes, then bytes into one buffer. str arguments lend their cached UTF-8
    # (no copy for ASCII text), bytes theirs; only floats and huge ints are spelled into temporary objects.
    cdef list spelled = []
    cdef Py_ssize_t total = 0, size, argc, j, k = 0
    cdef long long number = 0
    cdef unsigned long long magnitude
    cdef const char* data
    cdef object command, arg
    cdef bytes b
    for command in commands:
        if type(command) is not tuple:
            raise TypeError("commands must be tuples")
        argc = len(<tuple>command)
        total += 3 + _decimal_len(argc)
        for arg in <tuple>command:
            t = type(arg)
            if t is str:
                PyUnicode_AsUTF8AndSize(arg, &size)
            elif t is bytes:
                size = PyBytes_GET_SIZE(arg)
            elif t is int and _small_int(arg, &number):
                size = _decimal_len(_magnitude(number)) + (number < 0)
            elif t is int or t is float or t is memoryview:
                b = _spelled(arg)
                spelled.append(b)
                size = PyBytes_GET_SIZE(b)
            else:
                raise TypeError("A tuple item must be str, int, float or bytes.")
            total += 5 + _decimal_len(size) + size
    cdef bytes out = PyBytes_FromStringAndSize(NULL, total)
    cdef char* p = PyBytes_AS_STRING(out)
    for command in commands:
        argc = len(<tuple>command)
        p[0] = 42  # *
        p = _put_decimal(p + 1, argc)
        p[0] = 13
        p[1] = 10
        p += 2
        for j in range(argc):
            arg = (<tuple>command)[j]
            t = type(arg)
            if t is str:
                data = PyUnicode_AsUTF8AndSize(arg, &size)
            elif t is bytes:
                data = PyBytes_AS_STRING(arg)
                size = PyBytes_GET_SIZE(arg)
            elif t is int and _small_int(arg, &number):
                magnitude = _magnitude(number)
                size = _decimal_len(magnitude) + (number < 0)
                p[0] = 36  # $
                p = _put_decimal(p + 1, size)
                p[0] = 13
                p[1] = 10
                p += 2
                if number < 0:
                    p[0] = 45  # -
                    p += 1
                p = _put_decimal(p, magnitude)
                p[0] = 13
                p[1] = 10
                p += 2
                continue
            else:
                b = <bytes>spelled[k]
                k += 1
                data = PyBytes_AS_STRING(b)
                size = PyBytes_GET_SIZE(b)
            p[0] = 36  # $
            p = _put_decimal(p + 1, size)
            p[0] = 13
            p[1] = 10
            memcpy(p + 2, data, size)
            p += 2 + size
            p[0] = 13
            p[1] = 10
            p += 2
    return out
