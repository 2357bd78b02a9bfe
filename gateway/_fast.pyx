# cython: language_level=3, boundscheck=False, wraparound=False
"""The booking hot path's compiled kernels; ``gateway/_fast_py.py`` is their pure-Python twin (read it for what
each function means; the two give the same results, which the tests check through one parametrized fixture).

Here the canonical-booking check walks each string's code points once instead of calling a regex and several
str methods per field, the price table does a tariff's arithmetic on C integers instead of through five Python
calls, and the RESP packer writes a batch into one preallocated buffer (hiredis formats every argument's length
with sprintf and allocates per command).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.unicode cimport Py_UNICODE_ISPRINTABLE, Py_UNICODE_ISSPACE, PyUnicode_AsUTF8AndSize
from libc.string cimport memcpy
from libc.time cimport time_t, tm

import time

cdef extern from "<time.h>" nogil:
    tm* gmtime_r(const time_t* timer, tm* result)

cdef Py_UCS4 ZWNJ = 0x200C
cdef Py_UCS4 ZWJ = 0x200D
cdef tuple DIMENSIONS = ("length_mm", "width_mm", "height_mm")


cdef class ShipmentRules:
    cdef readonly Py_ssize_t client_order_id_max_len
    cdef readonly object cod_min, cod_max
    cdef readonly dict services
    cdef readonly frozenset provinces
    cdef readonly Py_ssize_t name_max, address_max, city_max, contents_max
    cdef readonly Py_ssize_t region_digits
    cdef readonly dict regions

    def __init__(self, client_order_id_max_len, cod_min, cod_max, services, provinces, text_max, regions):
        self.client_order_id_max_len = client_order_id_max_len
        self.cod_min = cod_min
        self.cod_max = cod_max
        self.services = dict(services)
        self.provinces = frozenset(provinces)
        self.name_max, self.address_max, self.city_max, self.contents_max = text_max
        self.region_digits, self.regions = regions[0], dict(regions[1])


cdef bint _clean_text(object value, Py_ssize_t max_len):
    if type(value) is not str:
        return False
    cdef str s = <str>value
    cdef Py_ssize_t n = len(s), i
    if n == 0 or n > max_len:
        return False
    cdef Py_UCS4 c, prev = 0x20  # a space before the first character: an edge counts as one
    for i in range(n):
        c = s[i]
        if c == 0x20:
            if prev == 0x20 or prev == ZWNJ:  # doubled or leading space, or a ZWNJ before a space
                return False
        elif c == ZWNJ:
            if prev == 0x20 or prev == ZWNJ:  # at the start, after a space, or doubled
                return False
        elif c == 0x0640 or c == 0x0643 or c == 0x0649 or c == 0x064A:  # tatweel, Arabic kaf and yehs
            return False
        elif c != ZWJ and not Py_UNICODE_ISPRINTABLE(c):
            return False
        prev = c
    return prev != 0x20 and prev != ZWNJ


cdef inline int _digit_value(Py_UCS4 c):
    # ASCII, Persian (U+06F0..) or Arabic-Indic (U+0660..) digit: its value; anything else: -1
    cdef int code = <int>c
    if 48 <= code <= 57:
        return code - 48
    if 0x06F0 <= code <= 0x06F9:
        return code - 0x06F0
    if 0x0660 <= code <= 0x0669:
        return code - 0x0660
    return -1


cdef str _ascii_number(object value, Py_ssize_t n):
    # n digits in any of the three scripts, as ASCII (the same str when it already is); else None
    if type(value) is not str:
        return None
    cdef str s = <str>value
    if len(s) != n or n > 16:
        return None
    cdef char buf[16]
    cdef bint ascii = True
    cdef Py_ssize_t i
    cdef Py_UCS4 c
    cdef int d
    for i in range(n):
        c = s[i]
        d = _digit_value(c)
        if d < 0:
            return None
        if c > 57:
            ascii = False
        buf[i] = <char>(48 + d)
    return s if ascii else buf[:n].decode("ascii")


cdef bint _postal_code(str s):
    # s: ten ASCII digits
    cdef Py_UCS4 c
    cdef Py_ssize_t i
    for i in range(4):
        c = s[i]
        if c == 48 or c == 50:
            return False
    if s[0] == s[1] == s[2] == s[3]:
        return False
    c = s[4]
    if c == 48 or c == 50 or c == 53:
        return False
    for i in range(5, 10):
        if s[i] == 50:
            return False
    return True


cdef inline bint _int_in(object value, object lo, object hi):
    return type(value) is int and lo <= value <= hi


cdef dict _receiver(object value, ShipmentRules rules):
    if type(value) is not dict:
        return None
    cdef dict d = <dict>value
    if "location" in d:
        return None
    name, province, city, address = d.get("name"), d.get("province"), d.get("city"), d.get("address")
    # Shops' forms often send Persian digits: translated here as the validator would translate them.
    phone, postal_code = _ascii_number(d.get("phone"), 11), _ascii_number(d.get("postal_code"), 10)
    if not (_clean_text(name, rules.name_max) and phone is not None and (<str>phone).startswith("09")
            and postal_code is not None and _postal_code(<str>postal_code) and type(province) is str
            and province in rules.provinces and _clean_text(city, rules.city_max)
            and _clean_text(address, rules.address_max)):
        return None
    if rules.regions.get((<str>postal_code)[:rules.region_digits]) != province:  # the validator explains it
        return None
    return {"name": name, "phone": phone, "postal_code": postal_code, "province": province, "city": city,
            "address": address}


cdef dict _payment(object value, ShipmentRules rules):
    if type(value) is not dict:
        return None
    kind = (<dict>value).get("type")
    if type(kind) is not str:
        return None
    if kind == "prepaid":
        return {"type": "prepaid"}
    if kind == "cod":
        goods_value = (<dict>value).get("goods_value")
        if _int_in(goods_value, rules.cod_min, rules.cod_max):
            return {"type": "cod", "goods_value": goods_value}
    return None


cdef dict _parcel(object value, tuple limits, ShipmentRules rules):
    if type(value) is not dict:
        return None
    cdef dict d = <dict>value
    max_weight, max_side, max_girth, max_declared = limits
    weight = d.get("weight_g")
    if not _int_in(weight, 1, max_weight):
        return None
    cdef dict parcel = {"weight_g": weight}
    cdef int count = 0
    cdef long long side_sum = 0, longest = 0, v
    for dim in DIMENSIONS:
        side = d.get(dim)
        if side is not None:
            if not _int_in(side, 1, max_side):
                return None
            parcel[dim] = side
            v = side
            count += 1
            side_sum += v
            if v > longest:
                longest = v
    if count == 3 and longest + 2 * (side_sum - longest) > max_girth:
        return None
    declared = d.get("declared_value")
    if declared is not None:
        if not _int_in(declared, 0, max_declared):
            return None
        parcel["declared_value"] = declared
    contents = d.get("contents")
    if contents is not None:
        if not _clean_text(contents, rules.contents_max):
            return None
        parcel["contents"] = contents
    return parcel


def canonical_shipment(object body, ShipmentRules rules):
    if type(body) is not dict:
        return None
    cdef dict b = <dict>body
    if b.get("sender") is not None:
        return None
    order_id = b.get("client_order_id")
    if type(order_id) is not str:
        return None
    cdef str oid = <str>order_id
    cdef Py_ssize_t n = len(oid)
    if n == 0 or n > rules.client_order_id_max_len or Py_UNICODE_ISSPACE(oid[0]) or Py_UNICODE_ISSPACE(oid[n - 1]):
        return None
    if not oid.isprintable():  # control characters: the validator strips them
        return None
    another = b.get("another_parcel_of_order")
    if another is None:
        another = False
    elif type(another) is not bool:
        return None
    service = b.get("service")
    if type(service) is not str:
        return None
    limits = rules.services.get(service)
    if limits is None:
        return None
    payment = _payment(b.get("payment"), rules)
    if payment is None:
        return None
    receiver = _receiver(b.get("receiver"), rules)
    if receiver is None:
        return None
    parcel = _parcel(b.get("parcel"), <tuple>limits, rules)
    if parcel is None:
        return None
    return oid, service, payment, receiver, parcel, another


# --- RESP ---------------------------------------------------------------------------------------------------

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


cdef int[8] S10_WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7]


def s10_number(str indicator, long long serial, str country):
    """indicator, the 8-digit serial, its check digit and country: the S10 tracking number."""
    if not 0 <= serial <= 99_999_999:
        raise ValueError(f"S10 serial must be 0..99999999, got {serial}")
    cdef char[8] digits
    cdef long long n = serial
    cdef int i, total = 0, c
    for i in range(7, -1, -1):
        digits[i] = b"0"[0] + n % 10
        total += S10_WEIGHTS[i] * (n % 10)
        n //= 10
    c = 11 - total % 11
    c = 0 if c == 10 else 5 if c == 11 else c
    return indicator + digits[:8].decode("ascii") + chr(48 + c) + country


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


cdef class PriceTable:
    """A tariff's numbers for ``Tariff.price``; ``quote`` answers None wherever the tariff has to explain itself."""
    cdef dict services
    cdef long long vat_bp, cod_fee_bp, cod_fee_min, cod_fee_max, cod_low, cod_high, insurance_bp, insurance_min
    cdef long long amount_max  # above it amount x rate might not fit in 64 bits: Python's integers decide

    def __init__(self, services, vat_bp, cod_fee_bp, cod_fee_min, cod_fee_max, cod_low, cod_high, insurance_bp,
                 insurance_min):
        self.services = {name: (tuple(bounds), dict(prices), dict(extra) if extra is not None else None, max_weight,
                                max_declared)
                         for name, (bounds, prices, extra, max_weight, max_declared) in services.items()}
        self.vat_bp, self.cod_fee_bp, self.cod_fee_min, self.cod_fee_max = vat_bp, cod_fee_bp, cod_fee_min, cod_fee_max
        self.cod_low, self.cod_high = cod_low, cod_high
        self.insurance_bp, self.insurance_min = insurance_bp, insurance_min
        self.amount_max = 9_000_000_000_000_000_000 // (max(vat_bp, cod_fee_bp, insurance_bp) + 10_000)

    def quote(self, service, weight_g, zone, cod_goods_value, declared_value):
        cdef tuple rates = self.services.get(service)
        if rates is None:
            return None
        cdef object prices = (<dict>rates[1]).get(zone)
        cdef long long w, base, cod_fee = 0, insurance = 0, amount, net, vat
        cdef tuple bounds = <tuple>rates[0]
        cdef Py_ssize_t band = 0, nbands = len(bounds)
        if prices is None or not _exact_int(weight_g, &w) or w <= 0 or w > <long long>rates[3]:
            return None
        while band < nbands and <long long>bounds[band] < w:  # the first band whose inclusive bound holds w
            band += 1
        if band < nbands:
            base = (<tuple>prices)[band]
        elif rates[2] is None:
            return None
        else:  # per started kg over the last band
            base = ((<tuple>prices)[nbands - 1]
                    + (w - <long long>bounds[nbands - 1] + 999) // 1000 * <long long>rates[2][zone])
        if cod_goods_value is not None:
            if not _exact_int(cod_goods_value, &amount) or amount < self.cod_low or amount > self.cod_high \
                    or amount > self.amount_max:
                return None
            cod_fee = min(max(_rate(amount, self.cod_fee_bp), self.cod_fee_min), self.cod_fee_max)
        if declared_value is not None:
            if not _exact_int(declared_value, &amount) or amount < 0 or amount > <long long>rates[4] \
                    or amount > self.amount_max:
                return None
            if amount:
                insurance = max(_rate(amount, self.insurance_bp), self.insurance_min)
        net = base + cod_fee + insurance
        if net > self.amount_max:
            return None
        vat = _rate(net, self.vat_bp)
        return {"base": base, "cod_fee": cod_fee, "insurance": insurance, "vat": vat, "total": net + vat,
                "currency": "IRR"}


cdef inline bint _exact_int(object value, long long* out):
    return type(value) is int and _small_int(value, out)  # not a bool: the tariff refuses True as a weight


cdef inline long long _rate(long long amount, long long rate_bp):
    return (amount * rate_bp + 5_000) // 10_000  # rounded half up; both are never negative here


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
