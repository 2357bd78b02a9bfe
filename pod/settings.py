"""The feature's settings, read from the environment once, at startup (the one place pod reads it).

* ``BARID_POD_SECRET``: the key of the delivery codes' hashes and of the signed image links. Unset, a random one
  is made once and kept in the store (``SECRET_KEY``), so every gateway process of one store agrees on it.
* ``BARID_POD_DIR``: where the images are kept; default ``<BARID_DATA>/pod``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

SECRET_KEY = "barid:pod:secret"  # a single key: the store-kept secret when no setting gives one


@dataclass(frozen=True, slots=True)
class PodSettings:
    secret: str | None = None
    image_dir: Path = Path("var") / "pod"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, data_dir: Path | None = None) -> PodSettings:
        env = os.environ if env is None else env
        base = Path(data_dir) if data_dir is not None else Path(env.get("BARID_DATA", "var"))
        return cls(secret=env.get("BARID_POD_SECRET") or None,
                   image_dir=Path(env["BARID_POD_DIR"]) if env.get("BARID_POD_DIR") else base / "pod")


async def load_secret(redis: aioredis.Redis, settings: PodSettings) -> bytes:
    """The secret of this deployment: the setting, else the store's (made by the first process that asks)."""
    if settings.secret:
        return settings.secret.encode()
    await redis.set(SECRET_KEY, secrets.token_hex(32), nx=True)
    return bytes(await redis.get(SECRET_KEY))
