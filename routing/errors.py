"""The planner's errors: a branch of the one root, ``kernel.errors.BaridError``.

Each has a stable ``code``; its HTTP status and Persian text come from the problem catalogue. The CLI prints
``code: message`` and exits non-zero; a failed plan job keeps ``to_dict()`` in its record.
"""

from __future__ import annotations

from kernel.errors import BaridError


class RoutingError(BaridError):
    code = "routing_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class NoParcels(RoutingError):
    code = "no_parcels"


class InvalidParcel(RoutingError):
    code = "invalid_parcel"


class TimeLimitOutOfRange(RoutingError):
    code = "time_limit_out_of_range"


class InvalidDate(RoutingError):
    code = "invalid_date"


class InstanceParseError(RoutingError):
    code = "instance_parse_error"


class InvalidProblem(RoutingError):
    code = "invalid_problem"


class PlanNotFound(RoutingError):
    code = "plan_not_found"


class SolverFailed(RoutingError):
    code = "solver_failed"
