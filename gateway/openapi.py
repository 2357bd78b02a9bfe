"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /openapi.json``: assembled here, from an explicit list
of the features' fragments (each feature's ``api_spec.fragment(limits)``) and the gateway's own system routes.

A new feature adds its fragment to ``FRAGMENTS``; documenting one operation, schema or other component twice
fails when the document is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from booking import api_spec as booking_api
from handover import api_spec as handover_api
from kernel.openapi import json_body, problem_responses, shared_components
from kernel.postal.tariff import Limits
from money import api_spec as money_api
from money import api_spec_operator as money_operator_api
from money import shop_spec as money_shop_api
from notify import api_spec as notify_api
from panel import api_spec as panel_api
from pod import api_spec as pod_api
from returns import api_spec as returns_api
from routing import api_spec as routing_api
from staffapp import api_spec as staffapp_api
from tracking import api_spec as tracking_api

Fragment = Callable[[Limits], dict[str, Any]]

# Every feature's OpenAPI fragment, in document order (one line per feature).
FRAGMENTS: tuple[Fragment, ...] = (
    booking_api.fragment,
    tracking_api.fragment,
    routing_api.fragment,
    handover_api.fragment,
    returns_api.fragment,
    pod_api.fragment,
    staffapp_api.fragment,
    money_api.fragment,
    money_shop_api.fragment,
    money_operator_api.fragment,
    notify_api.fragment,
    panel_api.fragment,
)


def _system_fragment(_limits: Limits) -> dict[str, Any]:
    def system(summary: str, ok: dict[str, Any], *errors: int) -> dict[str, Any]:
        return {"get": {"tags": ["system"], "summary": summary, "security": [],
                        "responses": {"200": ok, **problem_responses(*errors)}}}

    return {"paths": {
        "/healthz": system("Liveness", json_body({"type": "object", "required": ["status"],
                                                  "properties": {"status": {"const": "ok"}}}, "Alive.")),
        "/readyz": system("Readiness: the store answers", json_body(
            {"type": "object", "required": ["status", "store"],
             "properties": {"status": {"const": "ready"}, "store": {"const": "ok"}}}, "Ready."), 503),
        "/metrics": system("Prometheus metrics, for loopback clients and the operator token (BARID_METRICS_TOKEN "
                           "as a bearer token) unless BARID_METRICS_PUBLIC=1",
                           {"description": "Prometheus text exposition format.",
                            "content": {"text/plain": {"schema": {"type": "string"}}}}, 403),
        "/openapi.json": system("This document", json_body({"type": "object"}, "OpenAPI 3.1 document.")),
    }}


def _merge(paths: dict[str, Any], components: dict[str, Any], fragment: dict[str, Any]) -> None:
    for path, ops in fragment.get("paths", {}).items():
        taken = paths.setdefault(path, {})
        if clash := set(taken) & set(ops):
            raise ValueError(f"OpenAPI: {path} {sorted(clash)} documented twice")
        taken.update(ops)
    for section, more in fragment.get("components", {}).items():
        have = components.setdefault(section, {})
        if clash := set(have) & set(more):
            raise ValueError(f"OpenAPI: {section} {sorted(clash)} defined twice")
        have.update(more)


def openapi_document(extra_paths: dict[str, dict[str, Any]] | None = None, limits: Limits | None = None,
                     fragments: Iterable[Fragment] = FRAGMENTS) -> dict:
    """The whole document: the shared components, each fragment in order, the system routes, then ``extra_paths``.

    ``limits`` defaults to the packaged limits.toml."""
    limits = limits or Limits.load()
    paths: dict[str, Any] = {}
    components = shared_components()
    for fragment in (*fragments, _system_fragment):
        _merge(paths, components, fragment(limits))
    _merge(paths, components, {"paths": extra_paths or {}})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Barid postal gateway", "version": "1.0.0",
                 "description": "Book, price, list and cancel domestic Iran Post shipments. Errors are RFC 9457 "
                                "problem details (`application/problem+json`) with Persian text beside English. "
                                "Request objects ignore unknown fields, and operations ignore unknown query parameters."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "shipments"}, {"name": "system"}],
        "paths": paths,
        "components": components,
    }
