"""The webhook URL guard: URLs it cannot parse are a 422, and IPv6 addresses that carry an IPv4 one are judged
by that IPv4, both when an endpoint is registered and when a delivery resolves the name."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver

from tracking.ssrf import BlockedAddress, GuardedResolver, is_public

# Each embeds 127.0.0.1 (or another non-public IPv4) in one of the IPv6 forms that lead to it.
EMBEDDING_LOOPBACK = [
    "64:ff9b::7f00:1",  # NAT64 well-known prefix (RFC 6052)
    "64:ff9b::a00:1",  # ... of 10.0.0.1
    "64:ff9b:1:7f00:0:100::",  # NAT64 local-use prefix (RFC 8215), as a /48
    "64:ff9b:1::7f00:1",  # ... as a /96
    "2002:7f00:1::",  # 6to4
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254, the cloud metadata address
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::127.0.0.1",  # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (stored inverted)
]
EMBEDDING_PUBLIC = ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"]


@pytest.mark.parametrize("ip", EMBEDDING_LOOPBACK)
def test_an_ipv6_address_embedding_a_private_ipv4_is_not_public(ip):
    assert not is_public(ip)


@pytest.mark.parametrize("ip", EMBEDDING_PUBLIC + ["2001:4860:4860::8888", "8.8.8.8"])
def test_an_ipv6_address_embedding_a_public_ipv4_is_public(ip):
    assert is_public(ip)


@pytest.mark.parametrize("ip", EMBEDDING_LOOPBACK)
async def test_registration_refuses_an_embedded_private_ipv4(client, shop, ip):
    resp = await client.post("/v1/webhooks", json={"url": f"http://[{ip}]/hook"}, headers=shop.headers)
    body = await resp.json()
    assert resp.status == 422 and body["errors"][0]["code"] == "url_not_public", body


@pytest.mark.parametrize("url", ["http://xn--/h", "http://xn--a/h", "https://xn--/", "http://a.xn--/h"])
async def test_a_url_the_guard_cannot_parse_is_a_422(client, shop, url):
    resp = await client.post("/v1/webhooks", json={"url": url}, headers=shop.headers)
    body = await resp.json()
    assert resp.status == 422 and body["errors"][0] == {
        "field": "url", "code": "url_invalid", "message": "not a URL", "message_fa": "نشانی نامعتبر است"}, body
    listed = await (await client.get("/v1/webhooks", headers=shop.headers)).json()
    assert listed["data"] == []


class FixedResolver(AbstractResolver):
    """A name server that answers every name with the given addresses (as DNS could for a rebinding attack)."""

    def __init__(self, *ips: str) -> None:
        self.ips = ips

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [{"hostname": host, "host": ip, "port": port, "family": socket.AF_INET6, "proto": 0,
                 "flags": socket.AI_NUMERICHOST} for ip in self.ips]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("ip", EMBEDDING_LOOPBACK)
async def test_delivery_refuses_a_name_resolving_to_an_embedded_private_ipv4(ip):
    with pytest.raises(BlockedAddress):
        await GuardedResolver(frozenset(), FixedResolver(ip)).resolve("shop.example", 443)


async def test_delivery_keeps_only_the_public_addresses_of_a_name():
    got = await GuardedResolver(frozenset(), FixedResolver("64:ff9b::7f00:1", "64:ff9b::808:808")).resolve(
        "shop.example", 443)
    assert [g["host"] for g in got] == ["64:ff9b::808:808"]


async def test_control_characters_are_stripped_from_a_webhook_description(client, shop, receiver_factory):
    rec = await receiver_factory()
    resp = await client.post("/v1/webhooks", json={"url": rec.url, "description": "orders\x1b[2J\x00 feed"},
                             headers=shop.headers)
    assert resp.status == 201 and (await resp.json())["description"] == "orders[2J feed"
