"""One settings tree: the only reader of the environment, listing every variable it reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kernel.settings import VARIABLES, Config

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kernel", "booking", "gateway", "tracking", "routing", "handover", "returns")
# kernel/extensions.py reads BARID_NO_EXTENSIONS at import, before any settings exist (it picks the compiled
# kernels or their twins, as aiohttp's AIOHTTP_NO_EXTENSIONS does); kernel/store/client.py copies the
# environment to pass it on to the store server it starts, and reads nothing from it.
ALLOWED_READERS = {"kernel/settings.py", "kernel/extensions.py", "kernel/store/client.py"}


def _sources():
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def test_only_the_settings_read_the_environment():
    readers = {name for name, text in _sources() if re.search(r"os\.environ|getenv\(", text)}
    assert readers <= ALLOWED_READERS, readers - ALLOWED_READERS


def test_every_variable_named_in_the_code_is_listed():
    named = {v for _, text in _sources() for v in re.findall(r"\bBARID_[A-Z0-9_]+", text)} | {"REDIS_URL"}
    assert named <= VARIABLES.keys(), named - VARIABLES.keys()
    assert all(VARIABLES.values())


def test_operator_tokens_and_log_level_come_from_the_settings():
    config = Config.from_env({"BARID_OPERATOR_TOKEN_SHA256": "AB12, cd34,", "BARID_LOG_LEVEL": "warning"})
    assert config.operator_token_sha256 == {"ab12", "cd34"} and config.log_level == "WARNING"
    assert Config.from_env({}).operator_token_sha256 == frozenset()
    with pytest.raises(ValueError, match="BARID_LOG_LEVEL"):
        Config.from_env({"BARID_LOG_LEVEL": "loud"})


def test_tracking_settings_are_part_of_the_tree():
    config = Config.from_env({"BARID_TRACK_BURST": "5", "BARID_WEBHOOK_ALLOW_HOSTS": "Hooks.Internal"})
    assert config.tracking.track_limits.burst == 5
    assert config.tracking.webhook_allow_hosts == {"hooks.internal"}
    assert config.effective_tracking() is config.tracking
