"""The feature's settings, taken from the gateway's ``Config`` (``kernel.settings`` reads the environment).

* ``BARID_POD_SECRET``: the key of the delivery codes' hashes and of the signed image links. Unset, a random one
  is made once and kept in the store (``SECRET_KEY``), so every gateway process of one store agrees on it.
* ``BARID_POD_DIR``: where the images are kept; default ``<BARID_DATA>/pod``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from kernel.settings import Config

SECRET_KEY = "barid:pod:secret"  # a single key: the store-kept secret when no setting gives one


@dataclass(frozen=True, slots=True)
class PodSettings:
    secret: str | None = None
    image_dir: Path = Path("var") / "pod"

    @classmethod
    def from_config(cls, config: Config) -> PodSettings:
        return cls(secret=config.pod_secret, image_dir=config.pod_dir or Path(config.data_dir) / "pod")


async def load_secret(redis: aioredis.Redis, settings: PodSettings) -> bytes:
    """The secret of this deployment: the setting, else the store's (made by the first process that asks)."""
    if settings.secret:
        return settings.secret.encode()
    await redis.set(SECRET_KEY, secrets.token_hex(32), nx=True)
    return bytes(await redis.get(SECRET_KEY))
