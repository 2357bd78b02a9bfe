"""Shared by the instruction-count benchmarks (store_cost, gateway_cost): valgrind's presence and a run's total."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def require_valgrind() -> None:
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed: apt-get install valgrind")


def total_instructions(callgrind_out: Path) -> int:
    """The instruction total callgrind wrote for one process."""
    for line in callgrind_out.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"callgrind wrote no totals to {callgrind_out}")
