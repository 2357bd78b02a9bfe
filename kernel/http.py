"""HTTP helpers every feature's routes share: JSON bodies in and out (no feature's code, no routes).

A feature's routes import these instead of another feature's web module, so no feature depends on another's
HTTP layer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

from kernel.errors import MalformedJSON, UnsupportedMediaType

JSON = "application/json"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None else ip


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: web.Request, trusted: Iterable[Network]) -> str | None:
    """The address a request comes from: the peer, or, when the peer is a trusted proxy, the right-most
    X-Forwarded-For entry that is not a trusted proxy (entries further left are the client's own claims).
    Without trusted proxies the header is ignored, so a client cannot choose its address."""
    trusted = tuple(trusted)
    remote = request.remote
    peer = _address(remote) if remote else None
    if not trusted or peer is None or not any(peer in net for net in trusted):
        return remote
    for entry in reversed(",".join(request.headers.getall("X-Forwarded-For", [])).split(",")):
        ip = _address(entry)
        if ip is None:  # a malformed hop: nothing left of it can be believed
            return remote
        if not any(ip in net for net in trusted):
            return str(ip)
    return remote


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON)


def _require_json_type(request: web.Request) -> None:
    ctype = request.headers.get("Content-Type", JSON)
    if not (ctype.startswith(JSON) or "+json" in ctype):
        raise UnsupportedMediaType(f"Content-Type {ctype!r} is not JSON", "نوع محتوا باید JSON باشد")


def _parsed(raw: bytes) -> tuple[Any, bytes]:
    try:
        return orjson.loads(raw), raw
    except orjson.JSONDecodeError as exc:
        raise MalformedJSON(f"body is not valid JSON: {exc}", "بدنه درخواست JSON معتبر نیست") from None


def json_at_hand(request: web.Request) -> tuple[Any, bytes] | None:
    """``read_json`` without an await, when the whole body came with the headers (a JSON request nearly always
    does): taken as it lies rather than through read()'s chunk loop, with read()'s size limit; else None."""
    _require_json_type(request)
    content = request.content
    if not content.is_eof() or content.exception():
        return None
    raw = content.read_nowait()
    if len(raw) > request.client_max_size:
        raise web.HTTPRequestEntityTooLarge(request.client_max_size, len(raw))
    return _parsed(raw)


async def read_json(request: web.Request) -> tuple[Any, bytes]:
    """The parsed JSON body and its bytes (415 unless the content type is JSON, 422 unless it parses)."""
    at_hand = json_at_hand(request)
    return at_hand if at_hand is not None else _parsed(await request.read())
