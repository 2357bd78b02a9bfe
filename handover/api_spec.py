"""OpenAPI description of the handover routes (``handover.web``), for the gateway's document.

The formats and sizes come from ``handover.labels``, the code that renders them.
"""

from __future__ import annotations

from typing import Any

from kernel.openapi import json_body, problem_responses, ref

from . import api_spec_pickups
from .labels import CONTENT_TYPES, FORMATS, SIZES, ZPL_SIZES

MAX_ITEMS = 5000  # handover.jobs.MAX_ITEMS (not imported: jobs imports the store client)

_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}

PATHS = {
    "/v1/shipments/{tracking_number}/label": {"get": {
        "tags": ["shipments"], "summary": "The shipment's printable label (PDF, PNG or ZPL II)",
        "description": (
            "Right-to-left Persian label with an embedded font: the S10 number as Code 128, a QR code of the public "
            "tracking URL, receiver, sender, delivering office and sort code, hub path, service, weight, Jalali "
            "booking date, parcel n of m and the amount to collect (COD). Re-printable: the ETag covers the "
            "content, so `If-None-Match` answers 304; every label sent counts as one print. ZPL II is for 203 dpi "
            f"thermal printers and comes in the roll sizes only ({', '.join(ZPL_SIZES)}); its Persian text is "
            "bitmap fields, so the printer needs no font. A cancelled shipment has no label (409)."),
        "operationId": "getShipmentLabel",
        "parameters": [
            {"$ref": "#/components/parameters/TrackingNumber"},
            {"name": "format", "in": "query", "schema": {"enum": list(FORMATS), "default": "pdf"}},
            {"name": "size", "in": "query", "description": "100x150 mm (4x6 in), A6, A5, or two labels to a "
             "landscape A4 page. ZPL comes in the roll sizes only (422 `size_not_for_format` otherwise).", "schema": {"enum": list(SIZES), "default": "100x150"}},
            {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {"description": "The label.",
                    "headers": {"ETag": {"required": True, "schema": {"type": "string"}},
                                "X-Label-Print-Count": {"description": "Labels of this shipment sent so far, "
                                                        "this one included.", "required": True,
                                                        "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
                    "content": {ctype: {"schema": _BINARY} for ctype in CONTENT_TYPES.values()}},
            "304": {"description": "Unchanged since the label whose ETag was sent.",
                    "headers": {"ETag": {"required": True, "schema": {"type": "string"}}}},
            **problem_responses(401, 404, 409, 422, 429, 503)},
    }},
}

_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
_PROBLEM_ITEM = {"type": "object", "required": ["tracking_number", "code", "detail", "detail_fa"], "properties": {
    "tracking_number": {"type": "string"}, "code": {"type": "string"}, "detail": {"type": "string"},
    "detail_fa": {"type": "string"}}}
_TIME = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS = {
    "LabelJobRequest": {
        "type": "object", "description": "Exactly one of `tracking_numbers`, `booked_between` or `batch_id`.",
        "properties": {
            "batch_id": {"type": "string", "minLength": 1, "maxLength": 40,
                         "description": "A batch booking's `batch_id`: the parcels it booked."},
            "tracking_numbers": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS, "items": {"type": "string"}},
            "booked_between": {"type": "object", "required": ["from", "to"], "properties": {
                "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"}}},
            "format": {"enum": ["pdf", "zpl"], "default": "pdf"},
            "size": {"enum": list(SIZES), "description": "Default a4-2up for PDF, 100x150 for ZPL (roll sizes only)."},
        },
        "oneOf": [{"required": ["tracking_numbers"], "not": {"anyOf": [{"required": ["booked_between"]},
                                                                       {"required": ["batch_id"]}]}},
                  {"required": ["booked_between"], "not": {"anyOf": [{"required": ["tracking_numbers"]},
                                                                     {"required": ["batch_id"]}]}},
                  {"required": ["batch_id"], "not": {"anyOf": [{"required": ["tracking_numbers"]},
                                                               {"required": ["booked_between"]}]}}],
        "allOf": [{"if": {"required": ["format"], "properties": {"format": {"const": "zpl"}}},
                   "then": {"properties": {"size": {"enum": list(ZPL_SIZES)}}}}]},
    "LabelJob": {
        "type": "object", "required": ["job_id", "status", "format", "size", "total", "done", "problems", "file"],
        "properties": {
            "job_id": {"type": "string"}, "status": {"enum": ["queued", "running", "done", "failed"]},
            "format": {"enum": ["pdf", "zpl"]}, "size": {"enum": list(SIZES)},
            "total": {"type": "integer", "description": "Parcels asked for."},
            "done": {"type": "integer", "description": "Parcels handled so far (printed or a problem)."},
            "printed": {"type": "integer"}, "problems": {"type": "array", "items": _PROBLEM_ITEM},
            "created_at": _TIME, "started_at": _TIME, "finished_at": _TIME, "expires_at": _TIME,
            "error": {"type": "object"},
            "file": {"type": ["string", "null"], "description": "Download URL once the job is done."}}},
}

PATHS["/v1/label-jobs"] = {"post": {
    "tags": ["shipments"], "summary": "Print many labels at once (a bulk label job)",
    "description": (
        f"Up to {MAX_ITEMS:,} parcels, by tracking number, booking time or booking batch, into one PDF (A4 2-up or a 100x150 roll) "
        "or one ZPL stream. Answers 202 at once; the job is rendered by a worker and kept 7 days. A parcel that "
        "cannot be printed (unknown, another shop's, cancelled) is a problem of its item, listed in the job; the "
        "others print. A booking range with more than the limit is `label_job_too_large`, with none "
        "`label_job_empty`; a `batch_id` not of this shop's batches (kept 30 days) is `label_job_batch_not_found`. "
        "Idempotency-Key replays the first answer."),
    "operationId": "createLabelJob",
    "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("LabelJobRequest")}}},
    "responses": {"202": json_body(ref("LabelJob"), "The job, queued."),
                  **problem_responses(401, 404, 409, 413, 415, 422, 429, 503)}}}
PATHS["/v1/label-jobs/{job_id}"] = {"get": {
    "tags": ["shipments"], "summary": "A label job: status, progress, problems, download link",
    "operationId": "getLabelJob", "parameters": [_JOB_ID],
    "responses": {"200": json_body(ref("LabelJob"), "The job."), **problem_responses(401, 404, 429, 503)}}}
PATHS["/v1/label-jobs/{job_id}/file"] = {"get": {
    "tags": ["shipments"], "summary": "A finished label job's PDF or ZPL",
    "operationId": "getLabelJobFile", "parameters": [_JOB_ID],
    "responses": {"200": {"description": "The labels.", "content": {
        "application/pdf": {"schema": _BINARY}, "application/zpl": {"schema": _BINARY}}},
        **problem_responses(401, 404, 409, 429, 503)}}}

_MANIFEST_ID = {"name": "manifest_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
_MANIFEST_PARCEL = {"type": "object", "properties": {
    "tracking_number": {"type": "string"}, "receiver_name": {"type": "string"}, "city": {"type": "string"},
    "weight_g": {"type": "integer"}, "cod_rials": {"type": "integer"}}}
SCHEMAS["ManifestRequest"] = {
    "type": "object", "description": "Exactly one of `tracking_numbers`, `date` (a booking day, Iran time) or "
    "`pickup_id` (an open pickup of the shop: its tracking numbers, or, when it gave a count, the shop's parcels "
    "waiting for handover).",
    "properties": {"tracking_numbers": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "string"}},
                   "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                   "pickup_id": {"type": "string", "maxLength": 64}},
    "oneOf": [{"required": ["tracking_numbers"], "not": {"anyOf": [{"required": ["date"]}, {"required": ["pickup_id"]}]}},
              {"required": ["date"], "not": {"anyOf": [{"required": ["tracking_numbers"]}, {"required": ["pickup_id"]}]}},
              {"required": ["pickup_id"], "not": {"anyOf": [{"required": ["tracking_numbers"]},
                                                            {"required": ["date"]}]}}]}
SCHEMAS["Manifest"] = {
    "type": "object", "required": ["manifest_id", "status", "count", "total_weight_g", "total_cod_rials",
                                   "tracking_numbers", "parcels", "pdf"],
    "properties": {
        "manifest_id": {"type": "string", "description": "Also the Code 128 on the printed manifest."},
        "status": {"enum": ["open", "accepted"]}, "shop_id": {"type": "integer"}, "shop_name": {"type": "string"},
        "count": {"type": "integer"}, "total_weight_g": {"type": "integer"}, "total_cod_rials": {"type": "integer"},
        "created_at": {"type": "string"}, "date_jalali": {"type": "string"}, "accepted_at": {"type": "string"},
        "accepted_by": {"type": "object"}, "accepted_count": {"type": "integer"}, "pickup_id": {"type": "string"},
        "tracking_numbers": {"type": "array", "items": {"type": "string"}},
        "parcels": {"type": "array", "items": _MANIFEST_PARCEL}, "pdf": {"type": "string"}}}
SCHEMAS["ManifestAcceptance"] = {
    "type": "object", "required": ["manifest_id", "accepted", "missing", "unexpected"], "properties": {
        "manifest_id": {"type": "string"}, "office": {"type": "string"},
        "accepted": {"type": "array", "items": {"type": "object", "description": "As POST /v1/scans answers."}},
        "missing": {"type": "array", "items": {"type": "object", "description": "A listed parcel not accepted: "
                                                "`not_presented`, or the problem its scan met."}},
        "unexpected": {"type": "array", "items": {"type": "string"}},
        "pickup": {"type": "object", "description": "For a manifest made from a pickup: the pickup, closed as "
                   "`completed` (every listed parcel accepted) or `partial`."}}}

PATHS["/v1/manifests"] = {"post": {
    "tags": ["shipments"], "summary": "Make a collection manifest (one barcode for many parcels)",
    "description": (
        "Parcels booked and not yet handed over, by tracking number or booking day (those not on an open manifest). "
        "The manifest has its own Code 128 number and a printable PDF. A parcel is on at most one open manifest: "
        "`manifest_parcels_taken` (409) names those already on one, in `manifested`. Unknown, foreign, cancelled "
        "or already handed over parcels are field errors (422); a day with none is `manifest_empty`."),
    "operationId": "createManifest", "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("ManifestRequest")}}},
    "responses": {"201": json_body(ref("Manifest"), "The manifest, open."),
                  **problem_responses(401, 404, 409, 413, 415, 422, 429, 503)}}}
PATHS["/v1/manifests"]["get"] = {
    "tags": ["shipments"], "summary": "The shop's manifests, newest first", "operationId": "listManifests",
    "description": "Each manifest's facts and PDF link, without its parcel rows (`GET /v1/manifests/{id}`).",
    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                                "default": 50}}],
    "responses": {"200": json_body({"type": "object", "required": ["data"], "properties": {"data": {
        "type": "array", "items": {"type": "object", "required": ["manifest_id", "status", "count", "pdf"],
                                   "properties": {k: v for k, v in SCHEMAS["Manifest"]["properties"].items()
                                                  if k not in ("parcels", "tracking_numbers")}}}}},
        "Newest first."), **problem_responses(401, 422, 429, 503)}}
PATHS["/v1/manifests/{manifest_id}"] = {"get": {
    "tags": ["shipments"], "summary": "A manifest", "operationId": "getManifest", "parameters": [_MANIFEST_ID],
    "responses": {"200": json_body(ref("Manifest"), "The manifest."), **problem_responses(401, 404, 429, 503)}}}
PATHS["/v1/manifests/{manifest_id}/pdf"] = {"get": {
    "tags": ["shipments"], "summary": "A manifest's printable PDF (A4)", "operationId": "getManifestPdf",
    "parameters": [_MANIFEST_ID],
    "responses": {"200": {"description": "The manifest, with its barcode, totals, signature lines and Jalali date.",
                          "content": {"application/pdf": {"schema": _BINARY}}},
                  **problem_responses(401, 404, 429, 503)}}}
PATHS["/v1/manifests/{manifest_id}/accept"] = {"post": {
    "tags": ["scans"], "summary": "Staff accept every parcel of a scanned manifest", "security": [{"staffBearer": []}],
    "description": (
        "One call for the whole manifest: each listed parcel (or each listed one in `present`, the parcels on the "
        "counter) gets its own `accepted` scan at the staff member's office, exactly as if scanned alone. Answers "
        "the accepted parcels, the missing ones (not presented, or refused by the scan rules) and the unexpected "
        "ones (presented, not listed). Repeating the call repeats the answer with duplicates, never new events."),
    "operationId": "acceptManifest", "parameters": [_MANIFEST_ID],
    "requestBody": {"required": False, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"present": {"type": "array", "maxItems": 1000,
                                                     "items": {"type": "string"}}}}}}},
    "responses": {"200": json_body(ref("ManifestAcceptance"), "What was accepted."),
                  **problem_responses(401, 404, 415, 422, 429, 503)}}}

def fragment(_limits: object = None) -> dict[str, Any]:
    """The label, label-job and manifest operations and the components they name, for the gateway's document (gateway.openapi)."""
    return {"paths": {**PATHS, **api_spec_pickups.PATHS},
            "components": {"schemas": {**SCHEMAS, **api_spec_pickups.SCHEMAS}}}
