# The C types of kernel/_s10_py.py (compiled through the symlink kernel/_s10_c.py); the code is there.
cimport cython


@cython.locals(n=cython.longlong, total=cython.longlong, c=cython.longlong)
cpdef long long check_digit(long long serial) except -1

@cython.locals(digit=cython.longlong)
cpdef str s10_number(str indicator, long long serial, str country)
