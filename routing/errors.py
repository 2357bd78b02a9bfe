"""One error root for the router. Each error has a stable machine-readable ``code`` and a human message.

The gateway maps ``status`` to the HTTP status; the CLI prints ``code: message`` and exits non-zero.
"""

from __future__ import annotations


class RoutingError(Exception):
    code = "routing_error"
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class UnknownOffice(RoutingError):
    code = "unknown_office"
    status = 404


class UnknownPostalArea(RoutingError):
    code = "unknown_postal_area"
    status = 422


class InvalidPostalCode(RoutingError):
    code = "invalid_postal_code"
    status = 422


class UnknownService(RoutingError):
    code = "unknown_service"
    status = 422


class NoParcels(RoutingError):
    code = "no_parcels"
    status = 422


class InvalidParcel(RoutingError):
    code = "invalid_parcel"
    status = 422


class TimeLimitOutOfRange(RoutingError):
    code = "time_limit_out_of_range"
    status = 422


class InvalidDate(RoutingError):
    code = "invalid_date"
    status = 422


class InstanceParseError(RoutingError):
    code = "instance_parse_error"
    status = 422


class InvalidProblem(RoutingError):
    code = "invalid_problem"
    status = 422


class PlanNotFound(RoutingError):
    code = "plan_not_found"
    status = 404


class SolverFailed(RoutingError):
    code = "solver_failed"
    status = 500
