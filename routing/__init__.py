"""Barid router: postmen's daily routes (the post-office registry and network are the kernel's,
``kernel.postal.offices``).

Public entry points:
    routing.jobs.submit_plan / PlanWorker       plans queued through the store, solved by router workers
    routing.sheet.render_route_sheet(plan, i)   printable Persian route sheet
    routing.solver.solve(problem, params)       the solver (Problem, SolveParams, Stop -> Result)
"""

from .errors import RoutingError
from .params import SisrParams, SolveParams, Stop
from .problem import Problem
from .result import Result
from .solver import solve

__all__ = ["Problem", "Result", "RoutingError", "SisrParams", "SolveParams", "Stop", "solve"]
