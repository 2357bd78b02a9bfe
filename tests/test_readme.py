"""The README stays true: its walk-through runs verbatim, and the docs name every setting the code reads.

The walk-through test extracts the README's bash blocks under "## Walk-through" and runs them, unchanged, in
one bash shell against a system it starts (``python3 dev.py up``) on free ports with a data directory of its
own, with the environment of the running tests. It fails on any failed command (``set -e``; the walk-through's
curl calls fail on an HTTP error), and checks what a reader is promised: the receiver prints the verified
``accepted`` delivery, the plan is solved, the route sheet and the buyers' page are served.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def walkthrough_blocks(text: str) -> list[str]:
    section = text.split("\n## Walk-through", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```bash\n(.*?)^```", section, flags=re.S | re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_is_a_users_readme() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    first_screen = "\n".join(text.splitlines()[:30])
    assert "python3 dev.py up" in first_screen and "python3 dev.py test" in first_screen
    assert "--port" in text and "BARID_PORT" in text
    assert "xdg-open" not in text  # a headless server has no browser to open


def test_operations_doc_lists_every_setting_the_code_reads() -> None:
    used: set[str] = set()
    for package in sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"):
        for path in (ROOT / package).rglob("*.py"):
            used |= set(re.findall(r"\b(BARID_[A-Z0-9_]*[A-Z0-9])\b", path.read_text()))
    used |= set(re.findall(r"\b(BARID_[A-Z0-9_]*[A-Z0-9])\b", (ROOT / "dev.py").read_text()))
    documented = (ROOT / "docs" / "operations.md").read_text()
    # The load-test kit's BARID_LT_<FIELD> variables are documented as one family.
    missing = sorted(v for v in used if f"`{v}`" not in documented and not v.startswith("BARID_LT_"))
    assert not missing, f"docs/operations.md does not list {missing}"
    assert "`BARID_LT_*`" in documented


def _stop_store(data: Path) -> None:
    """The embedded store runs in a session of its own; stop it if the walk-through did not get to."""
    try:
        pid = json.loads((data / "store.json").read_text())["pid"]
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, KeyError):
        pass


@pytest.mark.slow
def test_walkthrough_runs_verbatim(tmp_path: Path) -> None:
    blocks = walkthrough_blocks(README.read_text())
    assert len(blocks) >= 4, "the walk-through's bash blocks were not found"
    venv = Path(sys.prefix)
    if not (venv / ".barid-installed").exists():
        pytest.skip(f"{venv} was not built by dev.py (run: python3 dev.py test)")
    data = tmp_path / "var"
    env = {**os.environ, "BARID_PORT": str(free_port()), "HOOK_PORT": str(free_port()), "BARID_DATA": str(data),
           "BARID_VENV": str(venv), "BARID_ACCESS_LOG": "0", "BARID_LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    script = "set -e -o pipefail\n" + "\n".join(blocks)
    proc = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        pytest.fail("the walk-through did not finish in 300 s:\n" + out[-6000:])
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # whatever it left running (it stops everything itself)
        except ProcessLookupError:
            pass
        time.sleep(0.5)
        _stop_store(data)
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r"^verified \S+ accepted (EP|RP)\d{9}IR$", out, flags=re.M), out[-6000:]
    assert "rejected" not in out
    assert '"status":"done"' in out, out[-6000:]
    assert "برگه مسیر نامه‌رسان" in out  # the route sheet's title
    assert out.count("<title>") == 2  # the buyers' page and the sheet
