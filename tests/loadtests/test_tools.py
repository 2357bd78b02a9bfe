"""The kit fails loudly without its tools, and works from an installed copy (which has no ``bench``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


# Outside the checkout and without PYTHONPATH, only what the project installs can be imported: as for a user
# who installed Barid. (The test environment's editable install maps just the shipped packages.)
def _installed_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, **extra}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loadtests", "run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_kit_imports_from_an_installed_copy_without_bench(tmp_path: Path) -> None:
    code = ("import importlib.util as u, loadtests.runner, loadtests.ceiling, loadtests.system, loadtests.hello, "
            "loadtests.receiver; assert u.find_spec('bench') is None, 'bench is importable here'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_installed_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_without_locust_the_run_fails_and_says_how_to_install_it(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "locust"  # a locust that cannot start, ahead of the real one
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('no locust here')\n")
    out = tmp_path / "out"
    proc = _run(["--duration", "5", "--ceiling-seconds", "0", "--out", str(out)], tmp_path,
                _installed_env(PYTHONPATH=str(tmp_path / "shadow")))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Locust is not installed" in proc.stderr and "pip install 'locust" in proc.stderr
    assert "consistent" not in proc.stdout.lower() and not out.exists()  # no summary of a run that never ran


def test_without_wrk_the_run_fails_unless_the_ceiling_is_skipped(tmp_path: Path) -> None:
    empty = tmp_path / "bin"  # a PATH with no wrk on it (the kit runs Python as sys.executable)
    empty.mkdir()
    out = tmp_path / "out"
    proc = _run(["--duration", "5", "--out", str(out)], tmp_path, _installed_env(PATH=str(empty)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "wrk is not installed" in proc.stderr and "apt-get install wrk" in proc.stderr
    assert "--ceiling-seconds 0" in proc.stderr and not out.exists()
