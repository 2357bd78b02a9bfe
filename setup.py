"""Build the private Cython kernels. Everything else lives in pyproject.toml.

BARID_NO_EXTENSIONS=1 skips the build (the pure-Python twins are then used at run time).
"""
import os

from setuptools import Extension, setup

ext_modules = []
if not os.environ.get("BARID_NO_EXTENSIONS"):
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("routing._fast", ["routing/_fast.pyx"], extra_compile_args=["-O3"]),
         Extension("gateway._fast", ["gateway/_fast.pyx"], extra_compile_args=["-O3"])],
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
        quiet=True,
    )

setup(ext_modules=ext_modules)
