"""Quiet logs, honest metrics: a subscriber leaving the SSE stream and malformed HTTP are normal events of a public
server, not errors (real app, real loopback sockets)."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web

from gateway import quiet_log
from gateway.web_app import create_app

MALFORMED = {  # what a scanner or a broken client sends; aiohttp's parser answers each 400
    "bare CR": b"GET /healthz HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n",
    "bare LF in a header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\nc\r\n\r\n",
    "NUL": b"GET /healthz HTTP/1.1\r\nHost: x\x00y\r\n\r\n",
    "obs-fold": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n",
    "duplicate Content-Length": b"POST /v1/quotes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                b"Content-Length: 2\r\n\r\n{}",
}


async def _raw(client, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


@pytest.fixture
def fresh_filter(monkeypatch):
    """The process's filter swapped for one with a small limit and a clock the test moves."""
    logger = logging.getLogger(quiet_log.SERVER_LOGGER)
    now = [1000.0]
    flt = quiet_log.MalformedRequestFilter(limit=3, window_s=60, clock=lambda: now[0])
    monkeypatch.setattr(logger, "filters", [flt])
    return now


async def test_malformed_requests_are_one_line_each_and_rate_limited(app_client, fresh_filter, caplog):
    caplog.set_level(logging.INFO)
    for name, data in MALFORMED.items():
        assert (await _raw(app_client, data)).split(b"\r\n")[0].endswith(b" 400 Bad Request"), name
    records = [r for r in caplog.records if r.name == quiet_log.SERVER_LOGGER]
    assert all(r.exc_info is None and r.levelno == logging.WARNING for r in records)
    messages = [r.getMessage() for r in records]
    assert all("\n" not in m and "Traceback" not in m for m in messages), messages
    # 5 requests, a limit of 3: three lines, then one saying the rest are counted
    assert len(messages) == 4 and all(m.startswith("malformed HTTP request (from 127.0.0.1) answered 400: ")
                                      for m in messages[:3]), messages
    assert messages[3] == "3 malformed HTTP requests in 60 s; the rest of this window's are counted, not logged"

    caplog.clear()
    fresh_filter[0] += 61  # the next window: its first line says how many went unlogged
    assert b" 400 " in (await _raw(app_client, MALFORMED["NUL"])).split(b"\r\n")[0]
    [line] = [r.getMessage() for r in caplog.records if r.name == quiet_log.SERVER_LOGGER]
    assert line.endswith("(2 more in the previous window were not logged)"), line
    assert (await app_client.get("/healthz")).status == 200  # the server itself is unharmed


async def _blocked_clients(redis) -> int:
    return int((await redis.info("clients"))["blocked_clients"])


async def _settles_at(redis, blocked: int) -> int:
    """Store clients blocked in XREAD once the count reaches ``blocked`` or a couple of seconds have passed (the
    store handles a closed or new connection on its own loop, a moment after the client acts)."""
    for _ in range(40):
        if (n := await _blocked_clients(redis)) == blocked:
            return n
        await asyncio.sleep(0.05)
    return n


@pytest.fixture(params=["handler kept (python -m gateway up)", "handler cancelled (aiohttp test server)"])
async def stream_server(request, aiohttp_client, config, store_url):
    """The app as `python -m gateway up` serves it (aiohttp's default: a handler is not cancelled when its client
    leaves) and as aiohttp's test server does (handler_cancellation on): a client leaving must end well in both."""
    app = create_app(config, store_url)
    if request.param.startswith("handler cancelled"):
        client = await aiohttp_client(app)
        yield client.server.host, client.server.port
        return
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield host, port
    finally:
        await runner.cleanup()


async def test_a_client_leaving_the_event_stream_is_a_normal_end(stream_server, shop, redis, caplog):
    caplog.set_level(logging.INFO)
    host, port = stream_server
    baseline = await _blocked_clients(redis)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                 % shop.api_key.encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"retry: 2000\n\n"), 10)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert await _settles_at(redis, baseline + 1) == baseline + 1  # the stream's XREAD, just after the first bytes
    writer.close()
    await writer.wait_closed()
    # No event and no heartbeat is due (the feed is quiet, the heartbeat far off): the server must notice the
    # client left by itself, count the request once, and give its store connection back.
    metrics = ""
    async with aiohttp.ClientSession() as http:
        for _ in range(50):
            await asyncio.sleep(0.1)
            async with http.get(f"http://{host}:{port}/metrics") as r:
                metrics = await r.text()
            if 'route="/v1/events/stream"' in metrics:
                break  # well within the 15 s heartbeat the stream would otherwise have waited for
    assert [line for line in metrics.splitlines() if 'route="/v1/events/stream"' in line and "_total" in line] == [
        'barid_http_requests_total{route="/v1/events/stream",method="GET",status="200"} 1']
    assert 'status="500"' not in metrics and "internal_error" not in metrics
    assert await _settles_at(redis, baseline) == baseline  # the XREAD was given up, not left to run out
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
