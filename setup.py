"""Build the private Cython kernels. Everything else lives in pyproject.toml.

BARID_NO_EXTENSIONS=1 skips the build (the pure-Python twins are then used at run time).
"""
import os

from setuptools import Extension, setup

ext_modules = []
if not os.environ.get("BARID_NO_EXTENSIONS"):
    from Cython.Build import cythonize

    # gateway's *_c.py sources are symlinks to the pure-Python kernels, typed by the .pxd beside them.
    ext_modules = cythonize(
        [Extension(name, [path], extra_compile_args=["-O3"]) for name, path in (
            ("routing._fast", "routing/_fast.pyx"),
            ("gateway._tariff_c", "gateway/_tariff_c.py"),
            ("gateway._shipment_c", "gateway/_shipment_c.py"),
            ("gateway._s10_c", "gateway/_s10_c.py"),
            ("gateway._resp", "gateway/_resp.pyx"),
            ("gateway._isotime", "gateway/_isotime.pyx"))],
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
        quiet=True,
    )

setup(ext_modules=ext_modules)
