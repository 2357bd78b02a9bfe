"""dev.py: one environment for both commands, Python 3.11 to 3.13, and an installer that shows progress only."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("barid_dev", ROOT / "dev.py")
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)


def test_both_commands_share_one_environment_with_everything_they_need() -> None:
    assert dev.COMMANDS == ("up", "test")
    assert set(dev.EXTRAS.split(",")) == {"test", "load"}  # no per-command extras: switching reinstalls nothing
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    test_deps = " ".join(extras["test"])
    assert "hypothesis" in test_deps and "ruff" in test_deps  # the tests import hypothesis; CI runs ruff


def test_python_311_to_313_are_supported() -> None:
    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    assert all(f"{v}.0" in requires for v in ("3.11", "3.12", "3.13")) and "3.14.0" not in requires
    assert dev.SUPPORTED == ((3, 11), (3, 12), (3, 13))


def test_options_choose_the_interpreter_and_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("BARID_PYTHON", raising=False)
    monkeypatch.delenv("BARID_VENV", raising=False)
    assert dev.parse(["test", "-q", "-x"]) == ("test", None, None, ["-q", "-x"])
    assert dev.parse(["--python", "python3.13", "--venv", ".venv-3.13", "test", "-q"]) == (
        "test", "python3.13", ".venv-3.13", ["-q"])
    monkeypatch.setenv("BARID_VENV", ".venv-3.12")
    assert dev.parse(["up", "--port", "8081"]) == ("up", None, ".venv-3.12", ["--port", "8081"])
    assert dev.parse(["serve"])[0] is None


def test_an_unsupported_python_is_refused_with_what_is_needed(tmp_path: Path) -> None:
    old = tmp_path / "python3.10"
    old.write_text("#!/bin/sh\necho 3.10\n")
    old.chmod(0o755)
    with pytest.raises(SystemExit) as exc:
        dev.find_python(str(old))
    assert "Python 3.10" in str(exc.value) and "3.11, 3.12, 3.13" in str(exc.value)
    assert dev.find_python(sys.executable) == sys.executable


def test_installer_output_goes_to_the_log_and_shows_only_on_failure(tmp_path: Path, capsys) -> None:
    log = tmp_path / "install.log"
    noisy = [sys.executable, "-c", "print('warning: ' * 50); import sys; sys.stderr.write('more noise\\n')"]
    dev.run_logged(noisy, log, "installing")
    shown = capsys.readouterr()
    assert "warning" not in shown.out + shown.err and "barid: installing" in shown.out
    assert "more noise" in log.read_text()
    with pytest.raises(SystemExit) as exc:
        dev.run_logged([sys.executable, "-c", "print('the real error'); raise SystemExit(3)"], log, "compiling")
    assert "the real error" in str(exc.value) and str(log) in str(exc.value)


def test_packages_ship_their_type_information() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for package in ("gateway", "tracking", "routing", "handover", "returns", "loadtests"):
        assert (ROOT / package / "py.typed").exists() and "py.typed" in package_data[package]
    # Each hand-written Cython kernel has a stub; kernels compiled from a typed .py (through a .pxd) are typed by it.
    pyx = sorted(ROOT.glob("*/*.pyx"))
    assert pyx
    for source in pyx:
        assert source.with_suffix(".pyi").exists() and "*.pyi" in package_data[source.parent.name], source
    for pxd in ROOT.glob("*/*.pxd"):
        assert pxd.with_suffix(".py").exists(), pxd


def test_an_environment_built_with_another_python_is_not_reused(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    other = "3.13" if sys.version_info[:2] == (3, 12) else "3.12"
    fake = venv / "bin" / "python"  # an environment of another Python than the one asked for
    fake.write_text(f"#!/bin/sh\necho {other}\n")
    fake.chmod(0o755)
    with pytest.raises(SystemExit) as exc:
        dev.ensure_env(venv, sys.executable)
    wanted = "%d.%d" % sys.version_info[:2]
    assert f"built with Python {other}" in str(exc.value) and f".venv-{wanted}" in str(exc.value)
