"""Server-side request forgery guard for webhook URLs.

A storefront's URL may only lead to http(s) on public addresses: checked when the endpoint is registered
(the name is resolved then) and again on every delivery, where ``GuardedResolver`` sits inside aiohttp's
connector, so the address checked is the address connected to (no DNS-rebinding window). IP literals skip
aiohttp's resolver, so ``check_url`` vets them before each request. Redirects are never followed.
Hosts named in ``BARID_WEBHOOK_ALLOW_HOSTS`` (exact host names or IPs) are exempt: for tests and demos.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from gateway.errors import FieldError, ValidationFailed


class BlockedAddress(OSError):
    """The URL leads somewhere private; raised inside aiohttp, so a delivery fails like a connection error."""


def is_public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


def _invalid(code: str, en: str, fa: str) -> ValidationFailed:
    return ValidationFailed(errors=[FieldError("url", code, en, fa)])


def check_url(url: str, allow_hosts: frozenset[str]) -> URL:
    """The parsed URL if its form is acceptable and an IP-literal host is public; ValidationFailed otherwise."""
    try:
        u = URL(url)
    except (TypeError, ValueError):
        raise _invalid("url_invalid", "not a URL", "نشانی نامعتبر است") from None
    if u.scheme not in ("http", "https") or not u.host or not u.is_absolute():
        raise _invalid("url_invalid", "must be an absolute http(s) URL", "نشانی باید http یا https باشد")
    if u.user or u.password:
        raise _invalid("url_invalid", "must not carry credentials", "نشانی نباید نام کاربری و گذرواژه داشته باشد")
    if len(url) > 2048:
        raise _invalid("url_invalid", "longer than 2048 characters", "نشانی بیش از حد طولانی است")
    host = u.host.lower()
    if host in allow_hosts:
        return u
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return u
    if not is_public(str(literal)):
        raise _invalid("url_not_public", "must lead to a public address", "نشانی باید به یک آدرس عمومی اشاره کند")
    return u


async def validate_webhook_url(url: str, allow_hosts: frozenset[str]) -> str:
    """Registration check: form, then every address the name resolves to must be public."""
    u = check_url(url, allow_hosts)
    host = u.host.lower()  # type: ignore[union-attr]
    if host in allow_hosts:
        return str(u)
    resolver = DefaultResolver()
    try:
        infos = await resolver.resolve(host, u.port or 0, socket.AF_UNSPEC)
    except (OSError, ValueError):  # ValueError: IDNA cannot encode the name (empty or over-long label)
        raise _invalid("url_unresolvable", f"host {host} does not resolve", "نام میزبان یافت نشد") from None
    finally:
        await resolver.close()
    if not infos or not all(is_public(i["host"]) for i in infos):
        raise _invalid("url_not_public", "must lead to a public address", "نشانی باید به یک آدرس عمومی اشاره کند")
    return str(u)


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that drops private addresses (allow-listed hosts pass untouched)."""

    def __init__(self, allow_hosts: frozenset[str]) -> None:
        self._inner = DefaultResolver()
        self._allow = allow_hosts

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        infos = await self._inner.resolve(host, port, family)
        if host.lower() in self._allow:
            return infos
        public = [i for i in infos if is_public(i["host"])]
        if not public:
            raise BlockedAddress(f"{host} resolves only to non-public addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()
