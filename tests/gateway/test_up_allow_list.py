"""`up` lets the demo's webhooks reach this machine and says so at start; `serve` never inherits that."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gateway import cli
from gateway.web_app import create_app
from kernel.settings import Config
from tracking import web as tracking_web

ROOT = Path(__file__).resolve().parents[2]


def test_up_passes_the_demo_allow_list_explicitly_and_leaves_the_environment_alone(store_url, monkeypatch):
    monkeypatch.delenv("BARID_WEBHOOK_ALLOW_HOSTS", raising=False)
    up = cli.up_config(Config())
    assert up.webhook_allow_hosts == {"127.0.0.1", "localhost"}
    assert "BARID_WEBHOOK_ALLOW_HOSTS" not in os.environ
    assert "127.0.0.1, localhost" in cli.allow_list_line(up)
    # What up starts gets the list; what serve starts (in the same process, after up's settings) does not.
    dispatcher = [r for r in cli._roles(up, store_url, 1, 0) if r.name == "dispatcher"][0]
    assert dispatcher.args[2].webhook_allow_hosts == {"127.0.0.1", "localhost"}
    serve = Config.from_env()
    assert serve.webhook_allow_hosts is None
    dispatcher = [r for r in cli._roles(serve, store_url, 1, 0) if r.name == "dispatcher"][0]
    assert not dispatcher.args[2].webhook_allow_hosts
    app = create_app(serve, store_url)
    assert app[tracking_web.TRACKING_CONFIG].webhook_allow_hosts == frozenset()
    app = create_app(up, store_url)
    assert app[tracking_web.TRACKING_CONFIG].webhook_allow_hosts == {"127.0.0.1", "localhost"}


def test_an_operators_allow_list_is_kept_by_both(monkeypatch):
    monkeypatch.setenv("BARID_WEBHOOK_ALLOW_HOSTS", "hooks.internal")
    assert cli.up_config(Config.from_env()).webhook_allow_hosts == {"hooks.internal"}


def test_up_prints_the_allow_list_at_start(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BARID_WEBHOOK_ALLOW_HOSTS")}
    env.update(BARID_DATA=str(tmp_path), BARID_ACCESS_LOG="0")
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "up", "--port", str(port), "--dispatchers", "0",
                             "--routers", "0"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        banner = [proc.stdout.readline() for _ in range(2)]
        assert banner[0].startswith("Barid is up at"), banner
        assert "webhooks may reach" in banner[1] and "127.0.0.1, localhost" in banner[1], banner
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
