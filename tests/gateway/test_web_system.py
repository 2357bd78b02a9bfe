"""Health, readiness, metrics, access log, and surviving a store restart (scripts re-loaded)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from gateway.metrics import Metrics, MetricsShare
from gateway.web_app import create_app
from tests.conftest import shipment_body


async def test_health_and_readiness(app_client):
    assert (await app_client.get("/healthz")).status == 200
    resp = await app_client.get("/readyz")
    assert resp.status == 200 and (await resp.json())["store"] == "ok"


async def test_metrics_count_requests_bookings_and_errors(app_client, shop):
    await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    await app_client.post("/v1/shipments", json={}, headers=shop.headers)
    text = await (await app_client.get("/metrics")).text()
    assert 'route="/v1/shipments",method="POST",status="201"} 1' in text
    assert 'route="/v1/shipments",method="POST",status="422"} 1' in text
    assert 'barid_bookings_total{' in text and 'service="pishtaz",payment="cod"} 1' in text
    assert 'code="validation_failed"} 1' in text
    assert 'barid_http_request_duration_seconds_bucket{' in text and 'le="+Inf"} 2' in text


def test_metrics_of_several_workers_add_up(tmp_path):
    """What a worker publishes and what a scrape of any worker sums (the process test runs it for real)."""
    first, second = Metrics(), Metrics()
    first.observe_request("/v1/shipments", "POST", 201, 0.004)
    first.count_booking("pishtaz", "cod")
    second.observe_request("/v1/shipments", "POST", 201, 0.2)
    second.observe_request("/v1/scans", "POST", 422, 0.001)
    second.count_error("validation_failed")
    MetricsShare(tmp_path, first).publish()
    text = MetricsShare(tmp_path, second).render()
    assert "barid_gateway_workers 2\n" in text
    assert 'barid_http_requests_total{route="/v1/shipments",method="POST",status="201"} 2\n' in text
    assert 'barid_http_requests_total{route="/v1/scans",method="POST",status="422"} 1\n' in text
    assert 'route="/v1/shipments",method="POST",le="0.005"} 1\n' in text
    assert 'route="/v1/shipments",method="POST",le="0.25"} 2\n' in text
    assert 'barid_bookings_total{service="pishtaz",payment="cod"} 1\n' in text
    assert 'barid_errors_total{code="validation_failed"} 1\n' in text


async def test_one_structured_access_log_line_per_request(aiohttp_client, config, store_url, shop, capsys):
    client = await aiohttp_client(create_app(replace(config, access_log=True), store_url))
    await client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    await client.get("/v1/shipments/EP000000000IR", headers=shop.headers)
    await asyncio.sleep(0.2)  # lines are written in batches
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("POST", "/v1/shipments", 201), ("GET", "/v1/shipments/{tracking_number}", 404)]
    assert all(x["ms"] >= 0 for x in lines)


async def test_bookings_continue_after_the_store_forgets_its_scripts(app_client, shop, redis):
    assert (await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)).status == 201
    await redis.script_flush()  # what a store restart does to the script cache
    resp = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    assert resp.status == 201
