"""Where proof-of-delivery images live: a small interface, a directory implementation, and signed links.

``Storage`` is what the feature needs of a blob store: ``put``, ``get``, ``delete`` and ``signed_url``. The
default, ``FileStorage``, keeps each image as a file under ``<BARID_DATA>/pod/`` and signs its links itself
(HMAC-SHA256 of the key and the expiry); the gateway serves them at ``GET /v1/pod/files/{key}`` after checking the
signature and the expiry (``verify_link``). An object store implements the same four methods and returns its own
pre-signed URLs from ``signed_url``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

FILES_ROUTE = "/v1/pod/files"
# Keys are made by the feature (pod.scan.image_key): shop, tracking number, scan id and a content hash.
KEY = re.compile(r"[0-9]{1,12}/[A-Z]{2}[0-9]{9}[A-Z]{2}/[A-Za-z0-9_.:\-]{1,64}-[a-z]+-[0-9a-f]{16}\.(jpg|png|webp)",
                 re.ASCII)
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class Storage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> tuple[bytes, str] | None: ...

    async def delete(self, key: str) -> None: ...

    def signed_url(self, key: str, ttl_s: int, now: float | None = None) -> str: ...


def link_signature(secret: bytes, key: str, expires: int) -> str:
    return hmac.new(secret, f"pod-file|{key}|{expires}".encode(), hashlib.sha256).hexdigest()


def verify_link(secret: bytes, key: str, expires: str, signature: str, now: float | None = None) -> str | None:
    """None when the link is good; else why not: ``invalid`` (bad key or signature) or ``expired``."""
    if not KEY.fullmatch(key) or not expires.isdigit() or len(expires) > 12:
        return "invalid"
    if not hmac.compare_digest(link_signature(secret, key, int(expires)), signature):
        return "invalid"
    if int(expires) < (time.time() if now is None else now):
        return "expired"
    return None


class FileStorage:
    """Images as files under ``root`` (``<BARID_DATA>/pod`` by default), one directory per shop and parcel."""

    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = Path(root)
        self.secret = secret

    def _path(self, key: str) -> Path:
        if not KEY.fullmatch(key):  # keys are ours, but a path is never built from anything else
            raise ValueError(f"not a POD image key: {key!r}")
        return self.root / key

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # the scan that names it is acknowledged only after this
        os.replace(tmp, path)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> tuple[bytes, str] | None:
        path = self._path(key)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
        return data, CONTENT_TYPES[key.rsplit(".", 1)[1]]

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    def signed_url(self, key: str, ttl_s: int, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + ttl_s)
        return (f"{FILES_ROUTE}/{quote(key, safe='/')}?expires={expires}"
                f"&signature={link_signature(self.secret, key, expires)}")
