# The C types of kernel/_shipment_py.py (compiled through the symlink kernel/_shipment_c.py); the code is there.
cimport cython


cdef class ShipmentRules:
    cdef readonly Py_ssize_t client_order_id_max_len
    cdef readonly object cod_min, cod_max
    cdef readonly dict services
    cdef readonly frozenset provinces
    cdef readonly Py_ssize_t name_max, address_max, city_max, contents_max
    cdef readonly Py_ssize_t region_digits
    cdef readonly dict regions


@cython.locals(text=str, n=Py_ssize_t, c=Py_UCS4, prev=Py_UCS4)
cdef bint _clean_text(object value, Py_ssize_t max_len) except -1

@cython.locals(text=str, c=Py_UCS4)
cdef str _ascii_number(object value, Py_ssize_t n)

@cython.locals(i=Py_ssize_t, c=Py_UCS4)
cdef bint _postal_code(str code) except -1

cdef bint _int_in(object value, object lo, object hi) except -1

@cython.locals(d=dict)
cdef dict _receiver(object value, ShipmentRules rules)

@cython.locals(d=dict)
cdef dict _payment(object value, ShipmentRules rules)

@cython.locals(d=dict, parcel=dict, count=cython.int, side_sum=cython.longlong, longest=cython.longlong,
               length=cython.longlong)
cdef dict _parcel(object value, tuple limits, ShipmentRules rules)

@cython.locals(b=dict, oid=str, n=Py_ssize_t)
cpdef object canonical_shipment(object body, ShipmentRules rules)
