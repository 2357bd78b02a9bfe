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
            ("kernel._tariff_c", "kernel/_tariff_c.py"),
            ("kernel._shipment_c", "kernel/_shipment_c.py"),
            ("kernel._s10_c", "kernel/_s10_c.py"),
            ("kernel._resp", "kernel/_resp.pyx"),
            ("kernel._isotime", "kernel/_isotime.pyx"))],
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
        quiet=True,
    )

setup(ext_modules=ext_modules)
