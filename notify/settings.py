"""The notifications' settings, taken from the gateway's settings tree (``kernel.settings``, the only reader of
the environment) once, at assembly."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from kernel.settings import Config


@dataclass(frozen=True, slots=True)
class NotifySettings:
    # Kavenegar: https://api.kavenegar.com in production; empty = no real provider configured (`up` then starts
    # the local stand-in and points this at it).
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
    def from_config(cls, config: Config) -> NotifySettings:
        return cls(provider_url=config.sms_url or "", api_key=config.sms_api_key or "",
                   sender=config.sms_sender or "",
                   public_url=config.public_url or f"http://{config.host}:{config.port}",
                   link_secret=(config.sms_link_secret or "").encode(), interval_s=config.sms_interval_s)

    @property
    def configured(self) -> bool:
        return bool(self.provider_url and self.api_key)
