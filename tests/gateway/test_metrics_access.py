"""/metrics is for operators: loopback clients and holders of the operator token, unless opened on purpose."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp import web

from gateway.web_app import create_app
from kernel.settings import Config

TOKEN = "metrics-operator-token-0123456789"


@web.middleware
async def from_elsewhere(request: web.Request, handler):
    """Requests reach the test server over loopback: this one says which client address the server sees."""
    remote = request.headers.get("X-Test-Remote")
    return await handler(request.clone(remote=remote) if remote else request)


@pytest.fixture
def metrics_client(aiohttp_client, config: Config, store_url: str):
    async def make(**settings) -> object:
        app = create_app(replace(config, **settings), store_url)
        app.middlewares.insert(0, from_elsewhere)
        return await aiohttp_client(app)

    return make


async def test_loopback_clients_read_metrics(metrics_client):
    client = await metrics_client()
    for remote in (None, "127.0.0.1", "::1", "::ffff:127.0.0.1"):
        resp = await client.get("/metrics", headers={"X-Test-Remote": remote} if remote else {})
        assert resp.status == 200 and "barid" in await resp.text()


async def test_others_get_a_403_problem(metrics_client):
    client = await metrics_client()
    resp = await client.get("/metrics", headers={"X-Test-Remote": "203.0.113.9"})
    problem = await resp.json()
    assert resp.status == 403 and problem["code"] == "metrics_forbidden" and problem["detail_fa"]
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    bad = await client.get("/metrics", headers={"X-Test-Remote": "203.0.113.9", "Authorization": f"Bearer {TOKEN}"})
    assert bad.status == 403  # no token is configured: none is accepted


async def test_the_operator_token_opens_metrics_from_anywhere(metrics_client):
    config = Config.from_env({"BARID_METRICS_TOKEN": TOKEN})
    assert TOKEN not in repr(config) and config.metrics_token_sha256
    client = await metrics_client(metrics_token_sha256=config.metrics_token_sha256)
    ok = await client.get("/metrics", headers={"X-Test-Remote": "203.0.113.9", "Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 200
    for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN):
        resp = await client.get("/metrics", headers={"X-Test-Remote": "203.0.113.9", "Authorization": header})
        assert resp.status == 403, header


async def test_metrics_can_be_opened_to_everyone(metrics_client):
    assert Config.from_env({"BARID_METRICS_PUBLIC": "1"}).metrics_public
    assert not Config.from_env({}).metrics_public
    client = await metrics_client(metrics_public=True)
    assert (await client.get("/metrics", headers={"X-Test-Remote": "203.0.113.9"})).status == 200
