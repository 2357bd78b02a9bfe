"""The SMS provider interface, and Kavenegar's documented HTTP API behind it.

Kavenegar (https://kavenegar.com/rest.html): ``POST {base}/v1/{api_key}/sms/send.json`` with the form fields
``receptor``, ``sender``, ``message`` and ``localid``; the answer is JSON
``{"return": {"status": 200, "message": ...}, "entries": [{"messageid", "status", "statustext", "receptor",
"sender", "date", "cost"}]}``, with the same status as the HTTP one. ``localid`` is our id of the message: the
provider sends a message with a local id it has seen once only, and answers the earlier entry, so a retry after
a lost answer does not reach the buyer twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import orjson

# Kavenegar's statuses that no retry can fix (the number, the message or the request itself is wrong); the
# others (402 failed, 409 server busy, 418 no credit, 451 too many requests, 5xx, no answer) are retried.
PERMANENT = {
    400: "incomplete parameters", 403: "API key invalid", 404: "method not found", 405: "wrong HTTP method",
    406: "required parameters empty", 407: "no access to this method", 411: "receptor invalid",
    412: "sender invalid", 413: "message empty or too long", 414: "too many receptors",
    422: "invalid characters in the message", 501: "test accounts send to their owner only",
}


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str  # the provider's id of the message
    status: int  # the provider's delivery status code (Kavenegar: 1 queued, 4/5 sent, 10 delivered, ...)
    status_text: str
    cost: int  # what the provider charged, in its unit (rials)
    provider: str


class ProviderError(Exception):
    """The provider did not take the message; ``permanent`` when no retry can help."""

    def __init__(self, status: int, message: str, *, permanent: bool) -> None:
        super().__init__(f"SMS provider refused ({status}): {message}")
        self.status, self.message, self.permanent = status, message, permanent


class SmsProvider(Protocol):
    name: str

    async def send(self, receptor: str, message: str, local_id: str) -> Receipt: ...


def numeric_local_id(job_id: str) -> str:
    """Kavenegar's localid is a number: 15 decimal digits derived from our message id (stable across retries)."""
    return str(int.from_bytes(hashlib.blake2b(job_id.encode(), digest_size=8).digest(), "big") % 10**15)


class Kavenegar:
    name = "kavenegar"

    def __init__(self, base_url: str, api_key: str, sender: str, *, timeout_s: float = 10.0) -> None:
        self.url = f"{base_url.rstrip('/')}/v1/{api_key}/sms/send.json"
        self.sender = sender
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, receptor: str, message: str, local_id: str) -> Receipt:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        form = {"receptor": receptor, "message": message, "localid": numeric_local_id(local_id)}
        if self.sender:
            form["sender"] = self.sender
        try:
            async with self._session.post(self.url, data=form) as resp:
                raw = await resp.read()
                http_status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderError(0, f"no answer ({type(exc).__name__})", permanent=False) from exc
        try:
            body = orjson.loads(raw)
            ret = body["return"]
            status = int(ret["status"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ProviderError(http_status, "unreadable answer", permanent=False) from None
        if status != 200:
            return _refused(status, str(ret.get("message") or ""))
        entries = body.get("entries") or []
        if not entries:
            raise ProviderError(status, "no entry in the answer", permanent=False)
        e = entries[0]
        return Receipt(message_id=str(e.get("messageid")), status=int(e.get("status") or 0),
                       status_text=str(e.get("statustext") or ""), cost=int(e.get("cost") or 0), provider=self.name)


def _refused(status: int, message: str) -> Receipt:
    raise ProviderError(status, message or PERMANENT.get(status, "refused"), permanent=status in PERMANENT)
