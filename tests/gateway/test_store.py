"""The embedded store's process: which allocator it runs on, and the switch that keeps the built-in one."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from kernel.settings import Config
from kernel.store import client as store_mod
from kernel.store.client import EmbeddedStore, find_jemalloc, find_server_binary, server_environment, server_malloc


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def _started(tmp_path: Path, allocator: str) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "store", allocator=allocator)
    url = store.start()
    client = redis.Redis.from_url(url)
    try:  # the server works on whichever allocator: a write and a read back
        client.set("k", "v" * 5000)
        assert client.get("k") == b"v" * 5000
    finally:
        client.close()
    return store


def test_server_reports_its_built_in_allocator():
    assert server_malloc(find_server_binary()) in ("libc", "jemalloc", "tcmalloc")


@pytest.mark.skipif(find_jemalloc() is None or server_malloc(find_server_binary()) != "libc",
                    reason="needs a libc-malloc server and the system's jemalloc (Debian: libjemalloc2)")
def test_embedded_store_runs_on_jemalloc_where_the_system_has_it(tmp_path):
    store = _started(tmp_path, "auto")
    try:
        assert store.read_state()["malloc"] == "jemalloc"
        assert "libjemalloc" in _maps(store.pid)
    finally:
        store.stop()


def test_libc_switch_keeps_the_built_in_allocator(tmp_path):
    store = _started(tmp_path, "libc")
    try:
        assert store.read_state()["malloc"] == server_malloc(find_server_binary())
        assert "libjemalloc" not in _maps(store.pid)
    finally:
        store.stop()


def test_preload_keeps_what_the_operator_preloaded(monkeypatch):
    monkeypatch.setattr(store_mod, "find_jemalloc", lambda: "libjemalloc.so.2")
    monkeypatch.setenv("LD_PRELOAD", "libfoo.so")
    env, preloaded = server_environment("libc", "auto")
    assert (env["LD_PRELOAD"], preloaded) == ("libjemalloc.so.2 libfoo.so", True)
    env, preloaded = server_environment("libc", "libc")
    assert (env["LD_PRELOAD"], preloaded) == ("libfoo.so", False)
    env, preloaded = server_environment("jemalloc", "auto")  # e.g. Debian's redis-server
    assert (env["LD_PRELOAD"], preloaded) == ("libfoo.so", False)


def test_a_preload_the_loader_ignored_is_not_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "find_jemalloc", lambda: "libno-such-allocator.so.9")
    if server_malloc(find_server_binary()) != "libc":
        pytest.skip("the server has its own allocator; nothing is preloaded")
    store = _started(tmp_path, "auto")  # the loader prints an error and starts the server without it
    try:
        assert store.read_state()["malloc"] == "libc"
    finally:
        store.stop()


def test_allocator_setting_from_the_environment():
    assert Config.from_env({}).store_allocator == "auto"
    assert Config.from_env({"BARID_STORE_ALLOCATOR": "libc"}).store_allocator == "libc"
    with pytest.raises(ValueError, match="BARID_STORE_ALLOCATOR"):
        Config.from_env({"BARID_STORE_ALLOCATOR": "tcmalloc"})


def test_the_embedded_store_rewrites_its_aof_only_past_the_configured_size(tmp_path):
    config = Config.from_env({"BARID_DATA": str(tmp_path), "BARID_STORE_AOF_REWRITE_MIN_MB": "256"})
    with store_mod.open_store(config, own=True) as url:
        client = redis.Redis.from_url(url)
        try:
            assert client.config_get("auto-aof-rewrite-min-size") == {"auto-aof-rewrite-min-size": str(256 << 20)}
            assert client.config_get("appendonly") == {"appendonly": "yes"}
        finally:
            client.close()
    assert Config.from_env({}).store_aof_rewrite_min_mb == 1024
    with pytest.raises(ValueError):
        Config.from_env({"BARID_STORE_AOF_REWRITE_MIN_MB": "0"})
