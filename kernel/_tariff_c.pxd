# The C types of kernel/_tariff_py.py (compiled through the symlink kernel/_tariff_c.py); the code is there.
cimport cython


cdef class PriceTable:
    cdef readonly dict services
    cdef readonly long long vat_bp, cod_fee_bp, cod_fee_min, cod_fee_max, cod_low, cod_high
    cdef readonly long long insurance_bp, insurance_min, sms_fee

    @cython.locals(rates=tuple, bounds=tuple, zone_prices=dict, prices=tuple, max_weight=cython.longlong,
                   max_declared=cython.longlong, weight=cython.longlong, band=Py_ssize_t, nbands=Py_ssize_t,
                   base=cython.longlong, cod_fee=cython.longlong, insurance=cython.longlong,
                   amount=cython.longlong, net=cython.longlong, vat=cython.longlong, sms_fee=cython.longlong)
    cpdef object quote(self, object service, object weight_g, object zone, object cod_goods_value,
                       object declared_value, object sms=*)


cdef long long _rate(long long amount, long long rate_bp) noexcept


@cython.locals(n=cython.longlong)
cdef long long _clamped(object value) except? -1
