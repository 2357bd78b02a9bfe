"""Server-side request forgery guard for webhook URLs.

A storefront's URL may only lead to http(s) on public addresses: checked when the endpoint is registered
(the name is resolved then) and again on every delivery, where ``GuardedResolver`` sits inside aiohttp's
connector, so the address checked is the address connected to (no DNS-rebinding window). IP literals skip
aiohttp's resolver, so ``check_url`` vets them before each request. Redirects are never followed. An IPv6
address that embeds an IPv4 one (IPv4-mapped or -compatible, NAT64, 6to4, Teredo) is judged by the IPv4.
A URL the guard cannot parse (a malformed IDNA name, say) is refused like any other bad URL (422).
Hosts named in ``BARID_WEBHOOK_ALLOW_HOSTS`` (exact host names or IPs) are exempt: for tests and demos.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from kernel.errors import FieldError, ValidationFailed


class BlockedAddress(OSError):
    """The URL leads somewhere private; raised inside aiohttp, so a delivery fails like a connection error."""


# IPv6 ranges whose addresses carry an IPv4 address that a translator or tunnel ends up connecting to: such an
# address is as public as the IPv4 inside it (a NAT64 address of 127.0.0.1 reaches the gateway's own loopback
# through the site's translator). Each maps an address to the IPv4 addresses it may stand for.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the IPv4 is the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use prefix, any length from /48 up
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291 (deprecated), also :: and ::1
_U_BITS = 0xFF << 56  # RFC 6052: bits 64-71 of a translated address are zero; the IPv4 skips them


def _rfc6052(value: int, prefix_len: int) -> ipaddress.IPv4Address:
    """The IPv4 embedded after a NAT64 prefix of ``prefix_len`` bits (RFC 6052 section 2.2)."""
    if prefix_len == 96:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    bits = value & ~_U_BITS  # drop the u octet and the prefix, then close the gap it leaves
    low = (bits & ((1 << 56) - 1))  # bits 72..127
    high = (bits >> 64) & ((1 << (128 - 64 - prefix_len)) - 1) if prefix_len < 64 else 0  # prefix end..63
    high_len = max(0, 64 - prefix_len)
    joined = (high << 56) | low  # the IPv4 is the top 32 bits of this (high_len + 56)-bit number
    return ipaddress.IPv4Address((joined >> (high_len + 56 - 32)) & 0xFFFFFFFF)


def embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address embeds (every one it may stand for), or None when it embeds none."""
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr in _NAT64:
        return [_rfc6052(int(addr), 96)]
    if addr in _NAT64_LOCAL:  # the local prefix's length is the site's choice: every possible reading counts
        return [_rfc6052(int(addr), n) for n in (48, 56, 64, 96)]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr.teredo is not None:  # (server, client); the client's IPv4 is stored inverted, as ipaddress undoes
        return list(addr.teredo)
    if addr in _IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(addr))]
    return None


def _public_v4(addr: ipaddress.IPv4Address) -> bool:
    return addr.is_global and not addr.is_multicast


def is_public(ip: str) -> bool:
    """The address (IPv4 or IPv6, with or without a zone) leads somewhere public; an IPv6 address embedding an
    IPv4 one is judged by every IPv4 it embeds."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address):
        inner = embedded_ipv4(addr)
        if inner is not None:
            return all(_public_v4(a) for a in inner)
    return addr.is_global and not addr.is_multicast


def _invalid(code: str, en: str, fa: str) -> ValidationFailed:
    return ValidationFailed(errors=[FieldError("url", code, en, fa)])


def check_url(url: str, allow_hosts: frozenset[str]) -> URL:
    """The parsed URL if its form is acceptable and an IP-literal host is public; ValidationFailed otherwise."""
    try:
        u = URL(url)
        u.host  # decodes the name: a malformed IDNA label ("xn--") fails here, not in a 500 later
        u.port
    except (TypeError, ValueError):  # UnicodeError is a ValueError
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

    def __init__(self, allow_hosts: frozenset[str], inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()
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
