# cython: language_level=3, boundscheck=False, wraparound=False
"""The booking hot path's compiled kernels; ``gateway/_fast_py.py`` is their pure-Python twin (read it for what
each function means; the two give the same results, which the tests check through one parametrized fixture).

Here the canonical-booking check walks each string's code points once instead of calling a regex and several
str methods per field, and the RESP packer writes a batch into one preallocated buffer (hiredis formats every
argument's length with sprintf and allocates per command).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.unicode cimport Py_UNICODE_ISPRINTABLE, Py_UNICODE_ISSPACE, PyUnicode_AsUTF8AndSize
from libc.string cimport memcpy

cdef Py_UCS4 ZWNJ = 0x200C
cdef Py_UCS4 ZWJ = 0x200D
cdef tuple DIMENSIONS = ("length_mm", "width_mm", "height_mm")


cdef class ShipmentRules:
    cdef readonly Py_ssize_t client_order_id_max_len
    cdef readonly object cod_min, cod_max
    cdef readonly dict services
    cdef readonly frozenset provinces
    cdef readonly Py_ssize_t name_max, address_max, city_max, contents_max

    def __init__(self, client_order_id_max_len, cod_min, cod_max, services, provinces, text_max):
        self.client_order_id_max_len = client_order_id_max_len
        self.cod_min = cod_min
        self.cod_max = cod_max
        self.services = dict(services)
        self.provinces = frozenset(provinces)
        self.name_max, self.address_max, self.city_max, self.contents_max = text_max


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


cdef bint _ascii_digits(object value, Py_ssize_t n):
    if type(value) is not str:
        return False
    cdef str s = <str>value
    if len(s) != n:
        return False
    cdef Py_UCS4 c
    for c in s:
        if c < 48 or c > 57:
            return False
    return True


cdef bint _postal_code(object value):
    if not _ascii_digits(value, 10):
        return False
    cdef str s = <str>value
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
    name, phone, postal_code = d.get("name"), d.get("phone"), d.get("postal_code")
    province, city, address = d.get("province"), d.get("city"), d.get("address")
    if not (_clean_text(name, rules.name_max) and _ascii_digits(phone, 11) and (<str>phone).startswith("09")
            and _postal_code(postal_code) and type(province) is str and province in rules.provinces
            and _clean_text(city, rules.city_max) and _clean_text(address, rules.address_max)):
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
    return oid, service, payment, receiver, parcel


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
