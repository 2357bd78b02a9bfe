"""The OpenAPI document is valid 3.1, matches the routes and limits, and the live API conforms to it
(schemathesis against the real app on a real loopback port and the real store)."""

from __future__ import annotations

import asyncio
import copy
import itertools
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
import requests
import schemathesis
from aiohttp import web
from aiohttp.resolver import ThreadedResolver
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import tracking.ssrf
from booking.shops import ShopRegistry
from gateway import openapi
from gateway.openapi import openapi_document
from gateway.web_app import create_app
from kernel.openapi import json_body, problem_responses, ref
from kernel.postal.offices import load_registry
from kernel.postal.tariff import Limits
from kernel.settings import Config, TrackingConfig, TrackLimits
from kernel.store import keys
from money.migrate import migrate
from tests.conftest import TEHRAN_SENDER, VERIFIED_BANK
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
    goods = schemas["Payment"]["then"]["properties"]["goods_value"]  # bounded for cash on delivery only
    assert (goods["minimum"], goods["maximum"]) == (limits.cod_min_goods_value_rial, limits.cod_max_goods_value_rial)
    assert "additionalProperties" not in schemas["ShipmentRequest"]  # unknown fields are ignored, not refused
    app = create_app(Config(access_log=False), "redis://unused")
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}  # aiohttp's own
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    assert doc["paths"]["/v1/shipments/{tracking_number}/cancel"]["post"]["responses"]["429"] == {
        "$ref": "#/components/responses/RateLimited"}


def test_the_document_is_assembled_from_an_explicit_list_of_feature_fragments():
    tn = [{"$ref": "#/components/parameters/TrackingNumber"}]
    one = {"paths": {"/v1/track/{tracking_number}": {"get": {"parameters": tn, "responses": {
        "200": json_body(ref("Tracking"), "Public status."), **problem_responses(404, 429)}}}},
        "components": {"schemas": {"Tracking": {"type": "object"}}}}
    two = {"paths": {"/v1/track/{tracking_number}": {"head": {"parameters": tn, "responses": {
        "200": {"description": "ok"}}}}}}
    doc = openapi.openapi_document(fragments=[*openapi.FRAGMENTS[:1], lambda _: one, lambda _: two])
    validate(doc)
    assert set(doc["paths"]["/v1/track/{tracking_number}"]) == {"get", "head"} and "/v1/quotes" in doc["paths"]
    assert "Tracking" in doc["components"]["schemas"] and "/v1/scans" not in doc["paths"]
    # the full list documents every feature's routes
    assert {"/v1/quotes", "/v1/scans", "/v1/offices/{code}/plans", "/healthz"} <= openapi.openapi_document()["paths"].keys()

    with pytest.raises(ValueError, match="documented twice"):
        openapi.openapi_document(extra_paths={"/v1/quotes": {"post": {"responses": {}}}})
    with pytest.raises(ValueError, match="defined twice"):
        openapi.openapi_document(fragments=[*openapi.FRAGMENTS, lambda _: {"components": {"schemas": {"Problem": {}}}}])


@dataclass(frozen=True)
class Live:
    url: str
    auth: dict[str, str]
    throttled_auth: dict[str, str]  # a shop allowed one request per 1000 s, to see a real 429
    staff_auth: dict[str, str]  # a staff member of STAFF_OFFICE
    rotating_auth: dict[str, str]  # a shop of its own for key rotation: two rotations retire the key fuzzed with

    def auth_for(self, path: str) -> dict[str, str]:
        if path == "/v1/shop/api-key/rotate":
            return self.rotating_auth
        return self.staff_auth if path.startswith(("/v1/scans", "/v1/offices/")) else self.auth


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
def serving(store_url: str, data_dir: Path, database_dsn: str | None = None
            ) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """The real app on a real loopback port, in its own thread and loop: schemathesis makes blocking calls.

    No webhook host is allow-listed (every URL meets the SSRF guard), and the guard resolves IP literals only."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    patch = pytest.MonkeyPatch()
    patch.setattr(tracking.ssrf, "DefaultResolver", NumericOnlyResolver)
    # Every fuzzed request comes from 127.0.0.1, whose public tracking budget later tests share.
    settings = TrackingConfig(track_limits=TrackLimits(rate_per_s=1000.0, burst=1000))
    runner = web.AppRunner(create_app(Config(data_dir=data_dir, access_log=False, tracking=settings,
                                             database_dsn=database_dsn), store_url))

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
def live_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A migrated ledger database of the module's own: the money routes answer from it, not 503."""
    name = f"openapi_{uuid.uuid4().hex[:8]}"

    async def run(dsn: str, sql: str, migrated: bool = False) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await (migrate(conn) if migrated else conn.execute(sql))
        finally:
            await conn.close()

    asyncio.run(run(pg_admin_dsn, f'CREATE DATABASE "{name}"'))
    dsn = f"{pg_admin_dsn.rpartition('/')[0]}/{name}"
    asyncio.run(run(dsn, "", migrated=True))
    yield dsn
    asyncio.run(run(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def live(store_url: str, tmp_path_factory: pytest.TempPathFactory, live_dsn: str) -> Iterator[Live]:
    async def shops() -> tuple[int, str, str, str, str]:
        redis = aioredis.Redis.from_url(store_url)
        registry = ShopRegistry(redis)
        shop, key = await registry.create("openapi-fuzz", sender=TEHRAN_SENDER, **VERIFIED_BANK)
        _, slow_key = await registry.create("openapi-throttled", sender=TEHRAN_SENDER, rate_per_s=0.001, rate_burst=1,
                                            **VERIFIED_BANK)
        _, rotating_key = await registry.create("openapi-rotating", sender=TEHRAN_SENDER, **VERIFIED_BANK)
        staff = await create_staff(redis, load_registry(), STAFF_OFFICE, "x")
        await redis.aclose()
        return shop.id, key, slow_key, staff["token"], rotating_key

    async def forget_endpoints(shop_id: int) -> None:
        # Fuzzing registers endpoints on public IP literals; later tests' dispatchers share the store and must
        # never deliver to them.
        redis = aioredis.Redis.from_url(store_url)
        await redis.hdel(keys.webhook_endpoints(keys.partition_of(shop_id)), str(shop_id))
        await redis.aclose()

    with serving(store_url, tmp_path_factory.mktemp("openapi"), live_dsn) as (url, loop):
        shop_id, key, slow_key, staff_token, rotating_key = asyncio.run_coroutine_threadsafe(shops(), loop).result(30)
        try:
            yield Live(url, {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {slow_key}"},
                       {"Authorization": f"Bearer {staff_token}"}, {"Authorization": f"Bearer {rotating_key}"})
        finally:
            asyncio.run_coroutine_threadsafe(forget_endpoints(shop_id), loop).result(30)


# Loaded at import so schemathesis makes one pytest item per operation. schemathesis.pytest.from_fixture (which
# could load the live URL instead) reads pytest's private Node._nodeid, which pytest 9 no longer has.
FUZZED_DOCUMENT = openapi_document()
# A copy: the stateful phase adds the links it infers to the document it was given.
schema = schemathesis.openapi.from_dict(copy.deepcopy(FUZZED_DOCUMENT))
schema.config.seed = 20240601
# The API ignores query parameters it does not know (as it ignores unknown body fields; the document says so), so
# negative cases made only of extra query parameters are not sent expecting a refusal.
schema.config.generation.update(allow_extra_parameters=False)
_key_serial = itertools.count()


load_all_checks()
ALL_CHECKS = REGISTRY.get_all()
_BOOKING_RULES = {
    "too_large_girth": "longest side + twice the other two is a sum over three fields; only each side's own "
                       "maximum is in the schema",
    "postal_code_province_mismatch": "which provinces a postal code's leading digits allow pairs two fields over "
                                     "the postal-region table (kernel/postal/data/offices.json); the 422 documents it",
}
# Every check runs on every operation. positive_data_acceptance (schema-valid data must not be refused) has a
# narrow exception on these operations: a 422 whose every error code is one of these rules no JSON Schema can
# state, each documented in the operation's 422 and listed with its reason. (method, path) -> {code: reason}
UNSTATABLE_RULES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/v1/quotes"): _BOOKING_RULES,
    ("POST", "/v1/shipments"): _BOOKING_RULES,
    ("POST", "/v1/webhooks"): dict.fromkeys(
        ("url_unresolvable", "url_not_public"), "a well-formed URL whose host does not resolve, or resolves to a "
        "non-public address, is refused by the SSRF guard, which judges DNS answers"),
    **dict.fromkeys((("GET", "/v1/events"), ("GET", "/v1/events/stream")), {
        "cursor_invalid": "each half of a stream id is at most 2**64 - 1, a bound on a 20-digit number that a "
                          "pattern could state only digit by digit"}),
    **dict.fromkeys((("GET", "/v1/remittances"), ("GET", "/v1/disputes")), {
        "cursor_invalid": "a cursor is the next_cursor of an earlier page; which strings name a page is the "
                          "database's to know"}),
    ("GET", "/v1/shipments/{tracking_number}/label"): {
        "size_not_for_format": "ZPL comes in the roll sizes only: a pairing of two query parameters, which "
                               "OpenAPI parameters cannot state (the size parameter's description says it)"},
    ("POST", "/v1/label-jobs"): {
        "range_invalid": "booked_between's from must not be after its to: a schema cannot compare two fields",
        "label_job_empty": "whether the shop booked anything in the range is the store's to know",
        "label_job_too_large": "how many parcels the shop booked in the range is the store's to know"},
    ("POST", "/v1/manifests"): {
        "date_invalid": "a pattern admits days no calendar has (2026-02-30)",
        "manifest_empty": "whether the shop has parcels waiting from that day is the store's to know",
        **dict.fromkeys(("not_found", "cancelled", "already_handed_over"),
                        "whether a tracking number is one of the shop's parcels waiting for handover is the store's "
                        "to know")},
    ("POST", "/v1/pickups"): {
        "date_invalid": "a pattern admits days no calendar has (2026-02-30)",
        "postal_code_province_mismatch": _BOOKING_RULES["postal_code_province_mismatch"],
        **dict.fromkeys(("not_found", "cancelled", "already_handed_over"),
                        "whether a tracking number is one of the shop's parcels waiting for handover is the store's "
                        "to know"),
        **dict.fromkeys(("pickup_date_in_past", "pickup_day_off", "pickup_too_far_ahead", "pickup_after_cutoff"),
                        "which days are allowed depends on today, the clock and the holiday calendar"),
        **dict.fromkeys(("pickup_window_outside_hours", "pickup_window_too_short", "pickup_too_few_parcels"),
                        "the window's bounds and length, and the count, compare fields with rules kept as data")},
    ("POST", "/shop/sheets/parse"): dict.fromkeys(
        ("sheet_unreadable", "sheet_empty", "sheet_headers", "sheet_too_long"), "whether an uploaded file is a "
        "readable .xlsx or CSV with the template's header row is the sheet reader's to judge; a schema types it as "
        "bytes"),
    ("POST", "/v1/scans"): dict.fromkeys(
        ("occurred_too_long_ago", "occurred_in_future"), "occurred_at must lie in a window around the time of the "
        "request; a schema has no 'now'") | {
        "tracking_number_invalid": "the S10 check digit is a weighted sum of the serial's digits mod 11",
        "wrong_office_kind": "which kind of office (hub or post office) scans which event pairs two fields, and "
                             "the scan-authority rules that decide it are the tracking service's"},
}
_positive_data_acceptance = next(c for c in ALL_CHECKS if c.__name__ == "positive_data_acceptance")


def positive_data_acceptance_but_unstatable_rules(ctx, response, case):
    try:
        return _positive_data_acceptance(ctx, response, case)
    except Failure:
        rules = UNSTATABLE_RULES.get((case.method.upper(), case.path), {})
        if response.status_code == 422 and rules:
            problem = response.json()
            codes = {e["code"] for e in problem.get("errors") or []} or {problem["code"]}
            if codes <= rules.keys():
                return None
        raise


CHECKS_RUN = [c if c is not _positive_data_acceptance else positive_data_acceptance_but_unstatable_rules
              for c in ALL_CHECKS]
STREAM_TIMEOUT_S = 1.0  # the event stream never ends: schemathesis reads it this long, then checks what came


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_live_api_conforms_to_document(case, live):
    """Every phase schemathesis runs under pytest (examples, coverage, fuzzing; positive and negative data) with
    every check; the stateful phase is test_live_api_links_conform below."""
    key = (case.headers or {}).get("Idempotency-Key")
    # Generated keys repeat ("0", "a"...) across different bodies, so nearly every later booking would be a 409;
    # numbering the valid ones lets bookings through. Invalid keys are sent as generated (they must get a 422).
    if isinstance(key, str) and key.isascii() and key.isprintable() and 0 < len(key.strip()) < 240:
        case.headers["Idempotency-Key"] = f"{next(_key_serial)}-{key}"
    kwargs = {"timeout": STREAM_TIMEOUT_S} if case.path == "/v1/events/stream" else {"timeout": 30}
    case.call_and_validate(base_url=live.url, headers=live.auth_for(case.path), checks=CHECKS_RUN, **kwargs)


def test_live_api_links_conform(live):
    """The stateful phase: chains of calls along the document's links (book, then read and cancel what was
    booked), with every check."""
    machine = schema.as_state_machine()

    class Links(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):
            return {"base_url": live.url, "headers": live.auth_for(case.path), "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS_RUN, transport_kwargs=kwargs)

    Links.run(settings=settings(max_examples=15, stateful_step_count=6, deadline=None, derandomize=True,
                                database=None, suppress_health_check=list(HealthCheck)))


def test_stateful_and_edge_statuses_conform(live):
    """Replays, conflicts, a found shipment, 413 and 429 need state or sizes the fuzzer does not produce."""

    def call(method: str, path: str, status: int, auth: dict[str, str] = live.auth, **kwargs):
        case = schema[path][method].Case(**kwargs)
        resp = case.call_and_validate(base_url=live.url, headers=auth, checks=CHECKS)
        assert resp.status_code == status, resp.text
        return resp  # schemathesis Response: headers are lower-case names -> lists of values

    body = FUZZED_DOCUMENT["paths"]["/v1/shipments"]["post"]["requestBody"]["content"]["application/json"]["example"]
    body = {**body, "client_order_id": f"stateful-{uuid.uuid4().hex[:12]}"}  # the fuzzer booked the example's
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

    quote = FUZZED_DOCUMENT["paths"]["/v1/quotes"]["post"]["requestBody"]["content"]["application/json"]["example"]
    quote_idem = {"Idempotency-Key": str(uuid.uuid4())}
    first = call("POST", "/v1/quotes", 200, body=quote, headers=quote_idem)
    again = call("POST", "/v1/quotes", 200, body=quote, headers=quote_idem)
    assert again.headers["idempotent-replayed"] == ["true"] and again.json() == first.json()
    call("POST", "/v1/quotes", 409, body={**quote, "service": "pishtaz"}, headers=quote_idem)
    call("POST", "/v1/quotes", 422, body=quote, headers={"Idempotency-Key": "x" * 256})

    call("POST", "/v1/quotes", 413, body={"pad": "x" * Limits.load().request_max_body_bytes})
    call("GET", "/v1/shipments", 200, auth=live.throttled_auth)
    assert int(call("GET", "/v1/shipments", 429, auth=live.throttled_auth).headers["retry-after"][0]) >= 1


def test_tracking_routes_statefully_conform(live):
    """Webhook endpoints' life, the SSRF guard, a parcel's scans, its public view and the shop's feed."""

    def call(method: str, path: str, status: int, auth: dict[str, str] | None = None, **kwargs):
        case = schema[path][method].Case(**kwargs)
        resp = case.call_and_validate(base_url=live.url, headers=live.auth_for(path) if auth is None else auth,
                                      checks=CHECKS)
        assert resp.status_code == status, resp.text
        return resp

    hooks = "/v1/webhooks/{endpoint_id}"
    for old in call("GET", "/v1/webhooks", 200).json()["data"]:  # whatever fuzzing managed to register
        call("DELETE", hooks, 204, path_parameters={"endpoint_id": old["id"]})
    # Nothing is allow-listed: private, loopback, link-local and unresolvable hosts are all refused.
    for url, code in (("http://127.0.0.1/hook", "url_not_public"), ("http://[::1]:8080/", "url_not_public"),
                      ("https://10.1.2.3/", "url_not_public"), ("http://169.254.169.254/", "url_not_public"),
                      ("http://localhost/hook", "url_unresolvable"), ("https://shop.example/", "url_unresolvable"),
                      ("ftp://1.1.1.1/", "url_invalid"), ("http://user:pw@1.1.1.1/", "url_invalid")):
        refused = call("POST", "/v1/webhooks", 422, body={"url": url})
        assert [e["code"] for e in refused.json()["errors"]] == [code], url
    # A public IP literal passes (registration connects to nothing; the endpoint is deleted below).
    made = call("POST", "/v1/webhooks", 201, body={"url": "https://1.1.1.1/hook", "events": ["delivered"]}).json()
    ep = {"endpoint_id": made["id"]}
    assert call("GET", "/v1/webhooks", 200).json()["data"][0]["id"] == made["id"]
    assert call("POST", hooks + "/pause", 200, path_parameters=ep).json()["status"] == "paused"
    assert call("POST", hooks + "/resume", 200, path_parameters=ep).json()["status"] == "active"
    assert call("POST", hooks + "/rotate-secret", 200, path_parameters=ep).json()["secret"] != made["secret"]
    assert call("POST", hooks + "/replay", 202, path_parameters=ep).json() == {"replayed": 0}
    call("POST", hooks + "/replay", 202, path_parameters=ep, body={"from": "2025-01-01T00:00:00Z"})
    call("POST", hooks + "/replay", 422, path_parameters=ep, body={"from": "yesterday"})
    call("DELETE", hooks, 204, path_parameters=ep)
    call("GET", hooks, 404, path_parameters=ep)

    # Fuzzing may have set the shop's delivery verification (docs/pod.md): back to the default, no code needed.
    call("PUT", "/v1/pod/policy", 200, body={"delivery_verification": None})
    order = FUZZED_DOCUMENT["paths"]["/v1/shipments"]["post"]["requestBody"]["content"]["application/json"]["example"]
    isfahan = call("POST", "/v1/shipments", 201, body={**order, "client_order_id": f"trk-{uuid.uuid4()}"}).json()
    # Delivered to an address of STAFF_OFFICE: only a parcel's delivering office may record its delivery.
    tehran_06 = {**order["receiver"], "postal_code": "1415734561", "province": "تهران", "city": "تهران"}
    tn = call("POST", "/v1/shipments", 201, body={**order, "client_order_id": f"trk-{uuid.uuid4()}",
                                                  "receiver": tehran_06}).json()["tracking_number"]
    now = datetime.now(timezone.utc)

    def scan(event: str, seconds: int, **extra):
        return {"tracking_number": tn, "event": event, "office": STAFF_OFFICE, "scan_id": f"{tn}-{event}",
                "occurred_at": (now + timedelta(seconds=seconds)).isoformat(), **extra}

    accepted = call("POST", "/v1/scans", 201, body=scan("accepted", 0)).json()
    assert call("POST", "/v1/scans", 200, body=scan("accepted", 0)).json() == {**accepted, "duplicate": True}
    call("POST", "/v1/scans", 409, body=scan("accepted", 1))  # scan_id reused for another scan
    call("POST", "/v1/scans", 403, body={**scan("accepted", 1), "office": "THR-01", "scan_id": "elsewhere"})
    call("POST", "/v1/scans", 404, body={**scan("accepted", 1), "tracking_number": "EP999999995IR"})
    call("POST", "/v1/scans", 401, auth=live.auth, body=scan("accepted", 0))  # a shop key is no staff token
    batch = call("POST", "/v1/scans/batch", 200, body={"scans": [
        scan("arrived_delivery_office", 1), scan("delivered", 2, receiver_name="علی"), {"event": "nonsense"},
        scan("sorting_in", 3)]}).json()  # sorting is scanned at hubs only
    assert (batch["recorded"], batch["rejected"], [r["ok"] for r in batch["results"]]) == (2, 2, [
        True, True, False, False])
    mismatch = call("POST", "/v1/scans", 422, body=scan("cod_collected", 3, amount=1, method="cash")).json()
    assert mismatch["code"] == "cod_amount_mismatch" and mismatch["expected_amount"] == 12_000_000
    terminal = call("POST", "/v1/scans", 409, body=scan("delivery_failed", 4, reason="receiver_absent")).json()
    assert terminal["code"] == "parcel_terminal"
    elsewhere = call("POST", "/v1/scans", 403, body={**scan("delivered", 1, receiver_name="علی"), "scan_id": "x-1",
                                                     "tracking_number": isfahan["tracking_number"]}).json()
    assert elsewhere["code"] == "scan_office_not_responsible"

    view = call("GET", "/v1/track/{tracking_number}", 200, auth={}, path_parameters={"tracking_number": tn})
    assert view.json()["status"] == "delivered" and view.headers["access-control-allow-origin"] == ["*"]
    call("GET", "/track/{tracking_number}", 200, auth={}, path_parameters={"tracking_number": tn})
    call("GET", "/track/{tracking_number}", 404, auth={}, path_parameters={"tracking_number": "EP999999995IR"})

    seen, query = [], {"limit": 1000}
    while True:  # fuzzing booked plenty before this
        page = call("GET", "/v1/events", 200, query=query).json()
        seen += [e["id"] for e in page["data"]]
        query["after"] = page["next_after"]
        if not page["has_more"]:
            break
    assert seen[-4:] == [f"evt_{tn}_{i}" for i in (1, 2, 3, 4)]
    assert call("GET", "/v1/events", 200, query=query).json()["data"] == []
    # The stream itself never ends; what it refuses answers at once.
    call("GET", "/v1/events/stream", 422, headers={"Last-Event-ID": "not-a-cursor"})
    call("GET", "/v1/events/stream", 401, auth={})


def test_planning_routes_statefully_conform(live):
    def call(method: str, path: str, status: int, **kwargs):
        case = schema[path][method].Case(**kwargs)
        resp = case.call_and_validate(base_url=live.url, headers=live.staff_auth, checks=CHECKS)
        assert resp.status_code == status, resp.text
        return resp

    plans, own = "/v1/offices/{code}/plans", {"code": STAFF_OFFICE}
    past = call("POST", plans, 422, path_parameters=own, body={"date": "2000-01-01", "time_limit_s": 1})
    assert past.json()["code"] == "plan_date_in_past"
    # No router worker runs here: the plan stays queued (one that picks it up later plans it within a second).
    queued = call("POST", plans, 202, path_parameters=own, body={"date": "2999-01-01", "time_limit_s": 1})
    plan = {**own, "plan_id": queued.json()["plan_id"]}
    assert queued.headers["location"] == [f"/v1/offices/{STAFF_OFFICE}/plans/{plan['plan_id']}"]
    assert call("GET", plans + "/{plan_id}", 200, path_parameters=plan).json()["date"] == "2999-01-01"
    call("GET", plans + "/{plan_id}/postmen/{n}/sheet", 404, path_parameters={**plan, "n": "1"})
    call("GET", plans + "/{plan_id}", 404, path_parameters={**own, "plan_id": "nope"})
    call("POST", plans, 403, path_parameters={"code": "IFN-01"}, body={"date": "2000-01-01"})
    call("POST", plans, 404, path_parameters={"code": "NOWHERE"}, body={"date": "2000-01-01"})
    call("POST", plans, 422, path_parameters=own, body={"date": "2000-01-01", "time_limit_s": 10_000})


def test_store_outage_answers_documented_503(tmp_path):
    dead_store = "redis://127.0.0.1:1"  # nothing listens on port 1
    with serving(dead_store, tmp_path) as (url, _):
        for path, auth in (("/readyz", {}), ("/v1/shipments", {"Authorization": "Bearer bk_1_" + "s" * 32})):
            # A 503 is the right answer here, so only conformance is checked (not_a_server_error flags every 5xx).
            resp = schema[path]["GET"].Case().call_and_validate(base_url=url, headers=auth, checks=CONFORMANCE)
            assert resp.status_code == 503, resp.text
        for path in ("/v1/track/{tracking_number}", "/track/{tracking_number}"):
            resp = schema[path]["GET"].Case(path_parameters={"tracking_number": "EP123456785IR"}).call_and_validate(
                base_url=url, checks=CONFORMANCE)
            assert resp.status_code == 503, resp.text
