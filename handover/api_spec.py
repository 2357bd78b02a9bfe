"""OpenAPI description of the handover routes (``handover.web``), contributed to the gateway's document.

Imported by ``handover.web``, so the operation is added before ``create_app`` builds the document. The formats and
sizes come from ``handover.labels``, the code that renders them.
"""

from __future__ import annotations

from gateway.openapi import add_paths, problem_responses

from .labels import CONTENT_TYPES, FORMATS, SIZES, ZPL_SIZES

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
             "landscape A4 page.", "schema": {"enum": list(SIZES), "default": "100x150"}},
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

add_paths(PATHS)
