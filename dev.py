#!/usr/bin/env python3
"""Barid's two commands, for a fresh machine with Python 3.11 and a C compiler:

    python3 dev.py up      # build everything and start the whole system with demo data
    python3 dev.py test    # build everything and run the full test suite (extra args go to pytest)

Both create ./.venv when it is missing and (re)install the project into it, building the Cython extension,
whenever pyproject.toml, setup.py or a kernel source (.pyx, .pxd and its .py) changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
EXTRAS = {"up": "load", "test": "test,load"}


def find_python311() -> str:
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    for name in ("python3.11", "python3"):
        path = shutil.which(name)
        if path and subprocess.run([path, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 11))"]).returncode == 0:
            return path
    sys.exit("Barid needs Python 3.11 (python3.11 was not found on PATH)")


def build_inputs_digest(extras: str) -> str:
    h = hashlib.sha256(extras.encode())
    # A .pxd types a pure-Python kernel compiled from the .py beside it: both are build inputs too.
    kernels = [*ROOT.glob("*/*.pyx"), *ROOT.glob("*/*.pxd"), *(p.with_suffix(".py") for p in ROOT.glob("*/*.pxd"))]
    for path in sorted([ROOT / "pyproject.toml", ROOT / "setup.py", *kernels]):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def ensure_env(extras: str) -> None:
    if not PY.exists():
        subprocess.run([find_python311(), "-m", "venv", str(VENV)], check=True)
    stamp = VENV / ".barid-installed"
    digest = build_inputs_digest(extras)
    if stamp.exists() and stamp.read_text() == digest:
        return
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip", "setuptools", "wheel", "cython"], check=True)
    subprocess.run([*pip, "-e", f".[{extras}]"], check=True, cwd=ROOT)
    # Editable installs do not always rebuild a changed .pyx; build it in place explicitly.
    subprocess.run([str(PY), "setup.py", "-q", "build_ext", "--inplace"], check=True, cwd=ROOT)
    stamp.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    ensure_env(EXTRAS[cmd])
    os.chdir(ROOT)
    if cmd == "up":
        os.execv(str(PY), [str(PY), "-m", "gateway", "up", *rest])
    return subprocess.run([str(PY), "-m", "pytest", *(rest or ["-q"])]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
