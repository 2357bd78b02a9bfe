"""The gateway's error root and its one mapping to HTTP (RFC 9457 problem details).

Narrow subclasses live beside the code that raises them; each carries a stable machine ``code``, an HTTP
``status``, a short ``title`` and an English ``detail`` with a Persian ``detail_fa`` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .problems import describe

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://barid.post.ir/problems/"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str
    message_fa: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message, "message_fa": self.message_fa}


class GatewayError(Exception):
    """Root of every error Barid answers with. Subclasses set the class attributes."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(
        self,
        detail: str = "",
        detail_fa: str = "",
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.detail_fa = detail_fa
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        body["detail_fa"] = self.detail_fa or describe(self.code).fa
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.to_dict() for e in self.errors]
        body.update(self.extra)
        return body


class ValidationFailed(GatewayError):
    status = 422
    code = "validation_failed"
    title = "Request validation failed"


class RuleViolation(GatewayError):
    """Input that breaks one named business rule; ``code`` says which. Raised deep in domain code (postal
    rules, the tariff) where the field is not known: the handler attaches it to a field."""

    status = 422

    def __init__(self, code: str, message: str, message_fa: str) -> None:
        super().__init__(message, message_fa, code=code)
        self.message = message
        self.message_fa = message_fa


class MalformedJSON(GatewayError):
    status = 422
    code = "malformed_json"
    title = "Body is not valid JSON"


class Unauthorized(GatewayError):
    status = 401
    code = "unauthorized"
    title = "Missing or invalid credentials"


class Forbidden(GatewayError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(GatewayError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(GatewayError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(GatewayError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"


class UnsupportedMediaType(GatewayError):
    status = 415
    code = "unsupported_media_type"
    title = "Body must be application/json"


class RateLimited(GatewayError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class StoreUnavailable(GatewayError):
    status = 503
    code = "store_unavailable"
    title = "Store unavailable"
