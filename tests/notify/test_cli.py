"""The operators' opt-out command line, on the real store."""

from __future__ import annotations

import os
import subprocess
import sys

from notify import store

from .conftest import new_phone


def _cli(store_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notify", *args], capture_output=True, text=True,
                          env={**os.environ, "REDIS_URL": store_url}, timeout=60)


async def test_opt_out_and_back_in_from_the_command_line(store_url, redis):
    phone = new_phone()
    out = _cli(store_url, "opt-out", "+98 " + phone[1:])
    assert out.returncode == 0 and out.stdout.strip() == f"{phone}: opted out", out.stderr
    assert await redis.sismember(store.OPT_OUTS, store.number_hash(phone))
    assert _cli(store_url, "status", phone).stdout.strip() == f"{phone}: opted out"
    assert _cli(store_url, "opt-in", phone).stdout.strip() == f"{phone}: opted in again"
    assert not await redis.sismember(store.OPT_OUTS, store.number_hash(phone))
    bad = _cli(store_url, "opt-out", "12345")
    assert bad.returncode == 2 and "mobile" in bad.stderr.lower()
