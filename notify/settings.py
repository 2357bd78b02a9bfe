"""The notifications' settings: the only place this package reads the environment (once, at assembly)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NotifySettings:
    # Kavenegar: https://api.kavenegar.com in production; empty = no real provider configured (dev.py up then
    # starts the local fake and sets this to it).
    provider_url: str = ""
    api_key: str = ""
    sender: str = ""  # the provider's line number the messages come from
    # The address buyers open links at (tracking page, self-service page), without a trailing slash.
    public_url: str = "http://127.0.0.1:8080"
    # Signs the self-service links; a random one per process if unset (links then die with the process, and
    # several gateway processes would not accept each other's: set it in any real deployment).
    link_secret: bytes = b""
    interval_s: float = 1.0  # how often the SMS worker looks for events and due messages; 0 turns it off here

    def __post_init__(self) -> None:
        if not self.link_secret:
            object.__setattr__(self, "link_secret", secrets.token_bytes(32))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifySettings:
        env = os.environ if env is None else env
        return cls(provider_url=env.get("BARID_SMS_URL", "").rstrip("/"),
                   api_key=env.get("BARID_SMS_API_KEY", ""),
                   sender=env.get("BARID_SMS_SENDER", ""),
                   public_url=(env.get("BARID_PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/"),
                   link_secret=env.get("BARID_SMS_LINK_SECRET", "").encode(),
                   interval_s=float(env.get("BARID_SMS_INTERVAL_S") or 1.0))

    @staticmethod
    def use_local_provider(url: str, public_url: str) -> None:
        """``up`` without a real provider: the gateway processes it starts afterwards send to the local fake at
        ``url`` (they read these settings at start); the buyers' links point at ``public_url`` unless set."""
        os.environ["BARID_SMS_URL"] = url
        os.environ["BARID_SMS_API_KEY"] = "dev"
        os.environ.setdefault("BARID_PUBLIC_URL", public_url)

    @property
    def configured(self) -> bool:
        return bool(self.provider_url and self.api_key)


VARIABLES = ("BARID_SMS_URL", "BARID_SMS_API_KEY", "BARID_SMS_SENDER", "BARID_PUBLIC_URL", "BARID_SMS_LINK_SECRET",
             "BARID_SMS_INTERVAL_S")
