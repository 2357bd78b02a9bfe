#!/usr/bin/env python3
"""Barid's two commands, for a fresh machine with Python 3.11, 3.12 or 3.13 and a C compiler:

    python3 dev.py up      # build everything and start the whole system with demo data (extra args go to `up`)
    python3 dev.py test    # build everything and run the full test suite (extra args go to pytest)

Both use one environment, ./.venv, with everything both need; it is created when missing and the project is
(re)installed into it, compiling the Cython kernels, whenever pyproject.toml, setup.py or a kernel source (.pyx,
.pxd and its .py) changed since the last install. The installer's output goes to <venv>/install.log; the screen
shows progress only.

Choosing the interpreter and the environment (CI uses one environment per Python version):

    python3 dev.py --python python3.13 --venv .venv-3.13 test     # or BARID_PYTHON=... BARID_VENV=...
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SUPPORTED = ((3, 11), (3, 12), (3, 13))
# One set of extras for both commands: switching between `up` and `test` must not reinstall anything.
EXTRAS = "test,load"
COMMANDS = ("up", "test")
VERSION_CHECK = "import sys; print('%d.%d' % sys.version_info[:2])"


def say(text: str) -> None:
    print(f"barid: {text}", flush=True)


def python_version(path: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([path, "-c", VERSION_CHECK], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.strip().split(".")
    return int(major), int(minor)


def find_python(requested: str | None) -> str:
    """The interpreter to build the environment with: the one asked for, else the first supported one found."""
    wanted = ", ".join("%d.%d" % v for v in SUPPORTED)
    if requested:
        path = shutil.which(requested) or requested
        version = python_version(path)
        if version not in SUPPORTED:
            sys.exit(f"barid: {requested} is {'not a Python' if version is None else 'Python %d.%d' % version}; "
                     f"Barid needs one of {wanted}")
        return path
    if sys.version_info[:2] in SUPPORTED:
        return sys.executable
    for name in ("python3.11", "python3.12", "python3.13", "python3"):
        path = shutil.which(name)
        if path and python_version(path) in SUPPORTED:
            return path
    sys.exit(f"barid: Barid needs Python {wanted} (none was found on PATH); name one with --python or BARID_PYTHON")


def build_inputs_digest() -> str:
    h = hashlib.sha256(EXTRAS.encode())
    # A .pxd types a pure-Python kernel compiled from the .py beside it: both are build inputs too.
    kernels = [*ROOT.glob("*/*.pyx"), *ROOT.glob("*/*.pxd"), *(p.with_suffix(".py") for p in ROOT.glob("*/*.pxd"))]
    for path in sorted([ROOT / "pyproject.toml", ROOT / "setup.py", *kernels]):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def run_logged(cmd: list[str], log: Path, what: str, env: dict | None = None) -> None:
    """Run an installer step with its output in the log; show the log's end only when the step fails."""
    say(what)
    started = time.monotonic()
    with open(log, "ab") as f:
        f.write(f"\n$ {' '.join(cmd)}\n".encode())
        f.flush()
        code = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        sys.exit("\n".join([*tail, f"barid: {what.rstrip('.')} failed (exit {code}); the whole output is in {log}"]))
    say(f"  done in {time.monotonic() - started:.0f} s")


def ensure_env(venv: Path, requested_python: str | None) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        base = find_python(requested_python)
        say(f"creating {venv.name} with Python {'%d.%d' % python_version(base)} ({base})")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    elif requested_python:
        have = python_version(str(py))
        want = python_version(find_python(requested_python))
        if have != want:
            sys.exit(f"barid: {venv} was built with Python {'%d.%d' % have if have else '?'}; choose another "
                     f"environment with --venv or BARID_VENV (for example .venv-{'%d.%d' % want})")
    stamp = venv / ".barid-installed"
    digest = build_inputs_digest()
    if stamp.exists() and stamp.read_text() == digest:
        return py
    log = venv / "install.log"
    log.write_text("")
    say(f"installing Barid and its dependencies into {venv.name} (the first time takes a minute or two; "
        f"output in {log.relative_to(ROOT) if log.is_relative_to(ROOT) else log})")
    quiet_env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONWARNINGS": "ignore"}
    pip = [str(py), "-m", "pip", "install"]
    run_logged([*pip, "--upgrade", "pip", "setuptools", "wheel", "cython"], log, "updating pip, setuptools, Cython",
               quiet_env)
    # The kernels are compiled once, in place, below; the editable install need not build them too.
    run_logged([*pip, "-e", f".[{EXTRAS}]"], log, f"installing dependencies (extras: {EXTRAS})",
               {**quiet_env, "BARID_NO_EXTENSIONS": "1"})
    # Editable installs do not always rebuild a changed .pyx; build it in place explicitly.
    build_env = {k: v for k, v in quiet_env.items() if k != "BARID_NO_EXTENSIONS"}  # it selects at run time
    run_logged([str(py), "setup.py", "-q", "build_ext", "--inplace"], log, "compiling the Cython kernels",
               build_env)
    stamp.write_text(digest)
    say(f"{venv.name} is ready")
    return py


def parse(argv: list[str]) -> tuple[str | None, str | None, str | None, list[str]]:
    """(command, --python, --venv, the rest); the two options may come before the command."""
    python, venv = os.environ.get("BARID_PYTHON") or None, os.environ.get("BARID_VENV") or None
    args = list(argv)
    while args and args[0] in ("--python", "--venv") and len(args) > 1:
        if args[0] == "--python":
            python = args[1]
        else:
            venv = args[1]
        args = args[2:]
    if not args or args[0] not in COMMANDS:
        return None, python, venv, args
    return args[0], python, venv, args[1:]


def main(argv: list[str]) -> int:
    cmd, python, venv_name, rest = parse(argv)
    if cmd is None:
        print(__doc__)
        return 2
    venv = Path(venv_name) if venv_name else ROOT / ".venv"
    venv = venv if venv.is_absolute() else ROOT / venv
    py = ensure_env(venv, python)
    os.chdir(ROOT)
    if cmd == "up":
        os.execv(str(py), [str(py), "-m", "gateway", "up", *rest])
    return subprocess.run([str(py), "-m", "pytest", *(rest or ["-q"])]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
