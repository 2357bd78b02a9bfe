"""Barid's one error root, ``BaridError``, with no HTTP in it.

Narrow subclasses live beside the code that raises them; each carries a stable machine ``code``, a short
``title`` and an English ``detail`` with a Persian ``detail_fa`` beside it. The HTTP status of a code is not an
attribute of the error: it is a column of the problem catalogue (``kernel/data/problems.toml``), the one table
from code to status, and the gateway's error middleware is the one place that answers HTTP with it. So the
domain raises without knowing HTTP, and a CLI or a worker reports the same error without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.problems import CATALOGUE, ProblemType, describe

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


class BaridError(Exception):
    """Root of every error Barid answers with. Subclasses set the class attributes.

    ``headers`` are hints for whoever answers (``Retry-After`` on a rate limit or a busy store); ``extra``
    members are added to the problem body."""

    code: str = "internal_error"
    title: str = ""  # empty: the catalogue's title for the code

    def __init__(
        self,
        detail: str = "",
        detail_fa: str = "",
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.title = title or self.title or self.kind().title
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.detail_fa = detail_fa
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}

    def kind(self) -> ProblemType:
        """The catalogue entry for this error: its code's, else (a rule code named at the raise site, which the
        catalogue does not list) its class's."""
        return CATALOGUE.get(self.code) or describe(type(self).code)

    def to_problem(self, instance: str | None = None, *, status: int | None = None) -> dict[str, Any]:
        """The RFC 9457 body; its ``status`` is the catalogue's for this code unless ``status`` is given (an HTTP
        error of aiohttp's own, whose status is known only at the edge)."""
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": status if status is not None else self.kind().status,
            "code": self.code,
            "detail": self.detail,
        }
        body["detail_fa"] = self.detail_fa or self.kind().fa
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.to_dict() for e in self.errors]
        body.update(self.extra)
        return body


class ValidationFailed(BaridError):
    code = "validation_failed"
    title = "Request validation failed"


def validation_failed(errors: list[FieldError]) -> ValidationFailed:
    """The 422 for these field errors, as every route answers bad input."""
    return ValidationFailed(f"{len(errors)} field(s) are invalid", "برخی فیلدها نامعتبرند", errors=errors)


class RuleViolation(BaridError):
    """Input that breaks one named business rule; ``code`` says which. Raised deep in domain code (postal
    rules, the tariff) where the field is not known: the handler attaches it to a field. A rule's own code is
    not in the problem catalogue; as a problem it answers as ``rule_violation``'s entry says."""

    code = "rule_violation"

    def __init__(self, code: str, message: str, message_fa: str) -> None:
        super().__init__(message, message_fa, code=code)
        self.message = message
        self.message_fa = message_fa


class MalformedJSON(BaridError):
    code = "malformed_json"
    title = "Body is not valid JSON"


class Unauthorized(BaridError):
    code = "unauthorized"
    title = "Missing or invalid credentials"


class Forbidden(BaridError):
    code = "forbidden"
    title = "Not allowed"


class NotFound(BaridError):
    code = "not_found"
    title = "Not found"


class Conflict(BaridError):
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(BaridError):
    code = "payload_too_large"
    title = "Request body too large"


class UnsupportedMediaType(BaridError):
    code = "unsupported_media_type"
    title = "Body must be application/json"


class RateLimited(BaridError):
    code = "rate_limited"
    title = "Too many requests"


class StoreUnavailable(BaridError):
    code = "store_unavailable"
    title = "Store unavailable"
