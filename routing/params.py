"""Solver configuration, passed explicitly to ``solve`` (no module-level knobs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import TimeLimitOutOfRange

MIN_TIME_LIMIT_S = 0.5
MAX_TIME_LIMIT_S = 600.0


@dataclass(frozen=True)
class Stop:
    """When to stop: at the time limit (whole solve, wall clock) or after ``max_iterations`` ruin-and-recreate
    iterations (0 = no cap), whichever comes first. An iteration cap with a generous time limit is the
    deterministic mode used by tests."""

    time_limit_s: float = 5.0
    max_iterations: int = 0

    def __post_init__(self):
        if not MIN_TIME_LIMIT_S <= self.time_limit_s <= MAX_TIME_LIMIT_S:
            raise TimeLimitOutOfRange(
                f"time limit {self.time_limit_s} s is outside [{MIN_TIME_LIMIT_S}, {MAX_TIME_LIMIT_S}] s")
        if self.max_iterations < 0:
            raise TimeLimitOutOfRange("max_iterations must be 0 (no cap) or positive")


@dataclass(frozen=True)
class SisrParams:
    """Slack Induction by String Removals (Christiaens & Vanden Berghe 2020); defaults from the paper except the
    split depth and the temperatures, which are relative to the mean edge cost of the first solution.

    Time windows make the landscape more rugged: annealing there needs about four times the temperature
    (measured on Solomon R2/RC2: 1.7% → 0.3% mean gap at 5 s), while CVRP does best cooler.
    """

    avg_removed: float = 10.0
    max_string: float = 10.0
    split_rate: float = 0.5
    split_depth: float = 0.5
    blink_rate: float = 0.01
    t0_factor: float = 0.4
    tf_factor: float = 0.004
    t0_factor_time_windows: float = 1.5
    tf_factor_time_windows: float = 0.02
    # Sometimes empty a whole route instead: strings alone rarely free a long route (few, wide time windows).
    route_removal_rate: float = 0.01
    granularity: int = 40  # neighbours scanned to find the routes worth trying an insertion in

    def as_tuple(self, time_windows: bool) -> tuple[float, ...]:
        """The kernel's parameter tuple."""
        t0, tf = ((self.t0_factor_time_windows, self.tf_factor_time_windows) if time_windows
                  else (self.t0_factor, self.tf_factor))
        return (self.avg_removed, self.max_string, self.split_rate, self.split_depth, self.blink_rate, t0, tf,
                self.route_removal_rate)


@dataclass(frozen=True)
class SolveParams:
    stop: Stop = field(default_factory=Stop)
    seed: int = 1
    # "sisr": the Cython ruin-and-recreate builds and improves a solution, handed to OR-Tools
    # (ReadAssignmentFromRoutes) for guided local search; "ortools": OR-Tools alone, from its own
    # parallel-cheapest-insertion start.
    construction: str = "sisr"
    sisr: SisrParams = field(default_factory=SisrParams)
    ortools_share: float = 0.1  # share of the time limit left to OR-Tools' guided local search
    gls_lambda: float = 0.1
    allow_drops: bool = False  # office days: a stop that fits no route is left out (reported) instead of failing

    def __post_init__(self):
        if self.construction not in ("sisr", "ortools"):
            raise ValueError(f"construction must be 'sisr' or 'ortools', not {self.construction!r}")
        if not 0.0 <= self.ortools_share <= 1.0:
            raise ValueError("ortools_share must be within [0, 1]")
