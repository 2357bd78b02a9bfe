"""The OpenAPI document is valid 3.1, matches the routes and limits, and the live API conforms to it
(schemathesis against the real app on a real loopback port and the real store)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import requests
import schemathesis
from aiohttp import web
from aiohttp.resolver import ThreadedResolver
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

import tracking.ssrf
from gateway import keys, openapi
from gateway.config import Config
from gateway.openapi import openapi_document
from gateway.shops import ShopRegistry
from gateway.tariff import Limits
from gateway.web_app import create_app
from routing.offices import load_registry
from tests.conftest import TEHRAN_SENDER, shipment_body
from tracking.staff import create_staff

CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance,
               response_headers_conformance]
CHECKS = [not_a_server_error, *CONFORMANCE]


def test_document_is_valid_openapi_31():
    doc = openapi_document()
    validate(doc)
    assert doc["openapi"] == "3.1.0"


def test_document_reads_limits_and_documents_every_route():
    doc, limits = openapi_document(), Limits.load()
    schemas = doc["components"]["schemas"]
    assert schemas["BatchRequest"]["properties"]["shipments"]["maxItems"] == limits.batch_max_items
    goods = schemas["Payment"]["properties"]["goods_value"]
    assert (goods["minimum"], goods["maximum"]) == (limits.cod_min_goods_value_rial, limits.cod_max_goods_value_rial)
    assert "additionalProperties" not in schemas["ShipmentRequest"]  # unknown fields are ignored, not refused
    app = create_app(Config(access_log=False), "redis://unused")
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}  # aiohttp's own
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    assert doc["paths"]["/v1/shipments/{tracking_number}/cancel"]["post"]["responses"]["429"] == {
        "$ref": "#/components/responses/RateLimited"}


def test_other_modules_contribute_paths_and_schemas(monkeypatch):
    monkeypatch.setattr(openapi, "_contributed", [])  # the real registry is shared by the whole process
    tn = [{"$ref": "#/components/parameters/TrackingNumber"}]
    openapi.add_paths({"/v1/track/{tracking_number}": {"get": {"parameters": tn, "responses": {
        "200": openapi.json_body(openapi.ref("Tracking"), "Public status."), **openapi.problem_responses(404, 429)}}}},
        {"Tracking": {"type": "object"}})
    openapi.add_paths({"/v1/track/{tracking_number}": {"head": {"parameters": tn, "responses": {
        "200": {"description": "ok"}}}}})
    doc = openapi.openapi_document()
    validate(doc)
    assert set(doc["paths"]["/v1/track/{tracking_number}"]) == {"get", "head"} and "/v1/quotes" in doc["paths"]
    assert "Tracking" in doc["components"]["schemas"]

    with pytest.raises(ValueError, match="documented twice"):
        openapi.openapi_document(extra_paths={"/v1/quotes": {"post": {"responses": {}}}})
    openapi.add_paths({}, {"Problem": {}})
    with pytest.raises(ValueError, match="defined twice"):
        openapi.openapi_document()


@dataclass(frozen=True)
class Live:
    url: str
    auth: dict[str, str]
    throttled_auth: dict[str, str]  # a shop allowed one request per 1000 s, to see a real 429
    staff_auth: dict[str, str]  # a staff member of STAFF_OFFICE

    def auth_for(self, path: str) -> dict[str, str]:
        return self.staff_auth if path.startswith("/v1/scans") else self.auth


STAFF_OFFICE = "THR-06"


class NumericOnlyResolver(ThreadedResolver):
    """Resolves IP literals only (AI_NUMERICHOST): any name fails at once, as a name that does not exist would.

    The SSRF guard resolves webhook hosts at registration; with this in its place, fuzzed webhook URLs cause no
    DNS query (nor any other traffic) off this machine, and the guard still answers 422 for every name."""

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM, family=family,
                                                             flags=socket.AI_NUMERICHOST)
        return [{"hostname": host, "host": addr[0], "port": addr[1], "family": fam, "proto": proto,
                 "flags": socket.AI_NUMERICHOST} for fam, _, proto, _, addr in infos]


@contextmanager
def serving(store_url: str, data_dir: Path) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """The real app on a real loopback port, in its own thread and loop: schemathesis makes blocking calls.

    No webhook host is allow-listed (every URL meets the SSRF guard), and the guard resolves IP literals only."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    patch = pytest.MonkeyPatch()
    patch.delenv("BARID_WEBHOOK_ALLOW_HOSTS", raising=False)
    patch.setattr(tracking.ssrf, "DefaultResolver", NumericOnlyResolver)
    runner = web.AppRunner(create_app(Config(data_dir=data_dir, access_log=False), store_url))

    async def start() -> str:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    try:
        url = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
        # The document fuzzed below is loaded at import; this proves it is exactly what the server serves.
        assert requests.get(f"{url}/openapi.json", timeout=10).json() == FUZZED_DOCUMENT
        yield url, loop
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        patch.undo()


@pytest.fixture(scope="module")
def live(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    async def shops() -> tuple[int, str, str, str]:
        redis = aioredis.Redis.from_url(store_url)
        registry = ShopRegistry(redis)
        shop, key = await registry.create("openapi-fuzz", sender=TEHRAN_SENDER)
        _, slow_key = await registry.create("openapi-throttled", sender=TEHRAN_SENDER, rate_per_s=0.001, rate_burst=1)
        staff = await create_staff(redis, load_registry(), STAFF_OFFICE, "x")
        await redis.aclose()
        return shop.id, key, slow_key, staff["token"]

    async def forget_endpoints(shop_id: int) -> None:
        # Fuzzing registers endpoints on public IP literals; later tests' dispatchers share the store and must
        # never deliver to them.
        redis = aioredis.Redis.from_url(store_url)
        await redis.hdel(keys.webhook_endpoints(keys.partition_of(shop_id)), str(shop_id))
        await redis.aclose()

    with serving(store_url, tmp_path_factory.mktemp("openapi")) as (url, loop):
        shop_id, key, slow_key, staff_token = asyncio.run_coroutine_threadsafe(shops(), loop).result(30)
        try:
            yield Live(url, {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {slow_key}"},
                       {"Authorization": f"Bearer {staff_token}"})
        finally:
            asyncio.run_coroutine_threadsafe(forget_endpoints(shop_id), loop).result(30)


# Loaded at import so schemathesis makes one pytest item per operation. schemathesis.pytest.from_fixture (which
# could load the live URL instead) reads pytest's private Node._nodeid, which pytest 9 no longer has.
FUZZED_DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(FUZZED_DOCUMENT)
schema.config.seed = 20240601
_key_serial = itertools.count()


# The SSE stream never ends, so it is not fuzzed (its 401/422 answers are checked below).
@schema.exclude(path="/v1/events/stream").parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_live_api_conforms_to_document(case, live):
    key = (case.headers or {}).get("Idempotency-Key")
    # Generated keys repeat ("0", "a"...) across different bodies, so nearly every later booking would be a 409;
    # numbering the valid ones lets bookings through. Invalid keys are sent as generated (they must get a 422).
    if isinstance(key, str) and key.isascii() and key.isprintable() and 0 < len(key.strip()) < 240:
        case.headers["Idempotency-Key"] = f"{next(_key_serial)}-{key}"
    case.call_and_validate(base_url=live.url, headers=live.auth_for(case.path), checks=CHECKS)


def test_stateful_and_edge_statuses_conform(live):
    """Replays, conflicts, a found shipment, 413 and 429 need state or sizes the fuzzer does not produce."""

    def call(method: str, path: str, status: int, auth: dict[str, str] = live.auth, **kwargs):
        case = schema[path][method].Case(**kwargs)
        resp = case.call_and_validate(base_url=live.url, headers=auth, checks=CHECKS)
        assert resp.status_code == status, resp.text
        return resp  # schemathesis Response: headers are lower-case names -> lists of values

    body = FUZZED_DOCUMENT["paths"]["/v1/shipments"]["post"]["requestBody"]["content"]["application/json"]["example"]
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    booked = call("POST", "/v1/shipments", 201, body=body, headers=idem).json()
    replay = call("POST", "/v1/shipments", 201, body=body, headers=idem)
    assert replay.headers["idempotent-replayed"] == ["true"] and replay.json() == booked
    call("POST", "/v1/shipments", 409, body={**body, "client_order_id": "other"}, headers=idem)

    tn = {"tracking_number": booked["tracking_number"].lower()}  # any case is accepted
    assert call("GET", "/v1/shipments/{tracking_number}", 200, path_parameters=tn).json()["history"]
    cancel_idem = {"Idempotency-Key": str(uuid.uuid4())}
    cancelled = call("POST", "/v1/shipments/{tracking_number}/cancel", 200, path_parameters=tn, headers=cancel_idem)
    assert cancelled.json()["status"] == "cancelled"
    call("POST", "/v1/shipments/{tracking_number}/cancel", 409, path_parameters=tn)  # not cancellable twice
    assert call("POST", "/v1/shipments/{tracking_number}/cancel", 200, path_parameters=tn,
                headers=cancel_idem).headers["idempotent-replayed"] == ["true"]

    call("POST", "/v1/quotes", 413, body={"pad": "x" * Limits.load().request_max_body_bytes})
    call("GET", "/v1/shipments", 200, auth=live.throttled_auth)
    assert int(call("GET", "/v1/shipments", 429, auth=live.throttled_auth).headers["retry-after"][0]) >= 1


def test_store_outage_answers_documented_503(tmp_path):
    dead_store = "redis://127.0.0.1:1"  # nothing listens on port 1
    with serving(dead_store, tmp_path) as (url, _):
        for path, auth in (("/readyz", {}), ("/v1/shipments", {"Authorization": "Bearer bk_1_" + "s" * 32})):
            # A 503 is the right answer here, so only conformance is checked (not_a_server_error flags every 5xx).
            resp = schema[path]["GET"].Case().call_and_validate(base_url=url, headers=auth, checks=CONFORMANCE)
            assert resp.status_code == 503, resp.text
