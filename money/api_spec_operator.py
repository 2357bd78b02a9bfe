"""OpenAPI description of the operator's remittance routes (``money.operator_web``), for the gateway's document.
The ``operatorBearer`` scheme is contributed by routing's fragment (delivery planning takes the same tokens)."""

from __future__ import annotations

from typing import Any

from kernel.openapi import json_body, problem_responses, ref

from .remittance import STATUSES

_OP = [{"operatorBearer": []}]
_AUTH: dict[str, Any] = {
    "401": {"description": "No operator token, or one not listed in BARID_OPERATOR_TOKEN_SHA256."},
    **problem_responses(403, 503)}
_RIALS = {"type": "integer", "description": "Rials."}
_RUN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
_REM_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "The remittance id (`rem_<yyyymmdd>_<shop>_<hash>`)."}

SCHEMAS = {
    "RemittanceRun": {
        "type": "object", "required": ["run_id", "as_of", "made_by", "shops", "remittances", "total"],
        "properties": {
            "run_id": {"type": "integer"}, "as_of": {"type": "string", "format": "date"},
            "made_by": {"type": "string"}, "started_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "shops": {"type": "integer", "description": "Shops given or added lines this run."},
            "remittances": {"type": "integer", "description": "Remittances made this run."},
            "scheduled": {"type": "integer"}, "held": {"type": "integer"},
            "lines": {"type": "integer"}, "total": _RIALS,
            "released": {"type": "integer", "description": "Held remittances released (account verified, "
                                                           "dispute resolved)."},
            "due_again": {"type": "integer", "description": "Failed remittances taken again."},
            "put_on_hold": {"type": "integer", "description": "Scheduled remittances held now (account no longer "
                                                              "verified, a dispute opened)."},
            "added_to_earlier": {"type": "integer", "description": "Remittances of the same day, not sent yet, "
                                                                   "given newly due lines."},
            "rolled_over_lines": {"type": "integer", "description": "Due lines under the shop's minimum payout."},
            "waiting_lines": {"type": "integer", "description": "Settled lines whose payout day has not come."},
            "deferred_lines": {"type": "integer", "description": "Due lines of shops whose remittance of the day "
                                                                 "is already with the bank: next payout day."},
            "skipped": {"type": "boolean"}, "seconds": {"type": "number"}}},
    "OperatorRemittance": {
        "type": "object",
        "required": ["remittance_id", "shop_id", "period", "status", "count", "collected", "fees", "total"],
        "properties": {
            "remittance_id": {"type": "string"}, "run_id": {"type": "integer"}, "shop_id": {"type": "integer"},
            "period": {"type": "string", "format": "date", "description": "The payout day."},
            "status": {"enum": list(STATUSES)}, "status_fa": {"type": "string"},
            "hold_reason": {"type": ["string", "null"], "enum": ["unverified_account", "open_dispute", None]},
            "count": {"type": "integer"}, "collected": _RIALS,
            "fees": {"type": "object", "properties": {k: _RIALS for k in ("shipping", "cod_fee", "insurance", "vat")}},
            "total": {"type": "integer", "description": "The net paid: collected less every fee."},
            "bank_ref": {"type": ["string", "null"]},
            "posting_id": {"type": ["integer", "null"], "description": "The payout posting, once paid."},
            "paid_now": {"type": "boolean"}, "event_id": {"type": "string"},
            "updated_at": {"type": "string", "format": "date-time"}}},
}

_REMITTANCE = json_body(ref("OperatorRemittance"), "The remittance.")

PATHS = {
    "/v1/operator/remittance-runs": {"post": {
        "tags": ["remittances"], "summary": "Run the remittances due on a day", "operationId": "createRemittanceRun",
        "description": "Per shop, its settled lines not yet remitted and not under an open dispute, due by the "
                       "shop's cycle, become one remittance for the day (held while its account is unverified). "
                       "Held remittances whose reason is gone are released, failed ones are due again. Running it "
                       "twice never pays twice (docs/remittances.md).",
        "security": _OP,
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"as_of": {"type": "string", "format": "date",
                                                       "description": "The Tehran day the run acts as (today)."}}}}}},
        "responses": {"201": json_body(ref("RemittanceRun"), "The run."), **_AUTH, **problem_responses(422)}}},
    "/v1/operator/remittance-runs/{id}/payout-file": {"get": {
        "tags": ["remittances"], "summary": "A run's payout file", "operationId": "getPayoutFile",
        "description": "The run's scheduled remittances as ISO 20022 pain.001.001.09 (validated against the XSD "
                       "before it is answered) or the banks' group-transfer CSV; they become `sent`. Fetched again, "
                       "the same batch (same message id) comes back; 409 `payout_file_empty` when the run has "
                       "nothing to pay.",
        "security": _OP,
        "parameters": [_RUN_ID, {"name": "format", "in": "query", "schema": {"enum": ["pain001", "csv"],
                                                                           "default": "pain001"}}],
        "responses": {"200": {"description": "The file.", "content": {
            "application/xml": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}},
            **_AUTH, **problem_responses(404, 409, 422)}}},
    "/v1/operator/remittances": {"get": {
        "tags": ["remittances"], "summary": "Remittances, newest payout day first", "operationId": "listRemittancesOp",
        "security": _OP,
        "parameters": [{"name": n, "in": "query", "schema": s} for n, s in (
            ("shop", {"type": "integer"}), ("status", {"enum": list(STATUSES)}), ("run", {"type": "integer"}),
            ("limit", {"type": "integer", "maximum": 10000}))],
        "responses": {"200": json_body({"type": "array", "items": ref("OperatorRemittance")}, "The remittances."),
                      **_AUTH, **problem_responses(422)}}},
    "/v1/operator/remittances/{id}/bank-ref": {"post": {
        "tags": ["remittances"], "summary": "Record the bank's reference: paid", "operationId": "markRemittancePaid",
        "description": "`sent` -> `paid`: one `payout` posting (the shop's payable debited, `bank:payouts` "
                       "credited) and a `remittance_paid` event on the shop's feed and webhooks. The same reference "
                       "again answers the paid remittance (`paid_now` false) and posts nothing.",
        "security": _OP, "parameters": [_REM_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["bank_ref"],
            "properties": {"bank_ref": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9/._:-]{0,63}$"}}}}}},
        "responses": {"200": _REMITTANCE, **_AUTH, **problem_responses(404, 409, 415, 422)}}},
    "/v1/operator/remittances/{id}/failed": {"post": {
        "tags": ["remittances"], "summary": "The bank refused the transfer", "operationId": "markRemittanceFailed",
        "description": "`sent` -> `failed`: nothing was paid; the next run makes it due again, in its file.",
        "security": _OP, "parameters": [_REM_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"],
            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}}}}}},
        "responses": {"200": _REMITTANCE, **_AUTH, **problem_responses(404, 409, 415, 422)}}},
}


def fragment(_limits: object = None) -> dict[str, Any]:
    return {"paths": PATHS, "components": {"schemas": SCHEMAS}}
