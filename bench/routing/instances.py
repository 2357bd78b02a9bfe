"""Benchmark instance files: Solomon VRPTW text and CVRPLIB (TSPLIB-style) CVRP, plus their ``bks.csv``.

Conventions (``../shared/bench/README.md``): Solomon distances are exact Euclidean, given to solvers ×1000
and rounded; CVRP distances are Euclidean rounded to the nearest integer, fleet int(1 + 1.07·demand/capacity).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing import fast
from routing.errors import InstanceParseError
from routing.problem import NO_LIMIT, Problem

SOLOMON_SCALE = 1000


@dataclass(frozen=True, eq=False)
class Instance:
    name: str
    kind: str  # "solomon" | "cvrp"
    x: np.ndarray
    y: np.ndarray
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray
    n_vehicles: int
    capacity: int
    pickup: np.ndarray | None = None  # collected rather than delivered (a pickup-and-delivery variant)

    def to_problem(self) -> Problem:
        if self.kind == "solomon":
            # Costs rounded, travel times rounded up: a schedule feasible in integers is feasible exactly.
            matrix = fast.euclidean_matrix(self.x, self.y, float(SOLOMON_SCALE))
            times = fast.euclidean_matrix(self.x, self.y, float(SOLOMON_SCALE), True)
            scale = SOLOMON_SCALE
            return Problem(matrix, times, self.demand.astype(np.int64), (self.ready * scale).astype(np.int64),
                           (self.due * scale).astype(np.int64), (self.service * scale).astype(np.int64),
                           self.n_vehicles, self.capacity, name=self.name, meta=self._coordinates(),
                           pickup=self._pickup())
        matrix = fast.euclidean_matrix(self.x, self.y, 1.0)
        n = len(self.x)
        return Problem(matrix, matrix, self.demand.astype(np.int64), np.zeros(n, np.int64),
                       np.full(n, NO_LIMIT, np.int64), np.zeros(n, np.int64), self.n_vehicles, self.capacity,
                       name=self.name, has_time_windows=False, meta=self._coordinates(), pickup=self._pickup())

    def _pickup(self) -> np.ndarray | None:
        return None if self.pickup is None else self.pickup.astype(np.int64)

    def _coordinates(self) -> dict:
        return {"x": self.x.tolist(), "y": self.y.tolist()}  # for peers that use geometry (PyVRP)


def _fail(path: Path, message: str) -> InstanceParseError:
    return InstanceParseError(f"{path.name}: {message}")


def parse_solomon(path: str | Path) -> Instance:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="strict").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read: {exc}") from None
    fleet = None
    rows: list[list[float]] = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or not re.fullmatch(r"[-+0-9.eE]+", fields[0]):
            continue
        try:
            values = [float(v) for v in fields]
        except ValueError:
            raise _fail(path, f"line {number}: not a number in {line.strip()!r}") from None
        if fleet is None:
            if len(values) != 2:
                raise _fail(path, f"line {number}: expected 'vehicles capacity', got {line.strip()!r}")
            fleet = (int(values[0]), int(values[1]))
        elif len(values) != 7:
            raise _fail(path, f"line {number}: expected 7 customer fields, got {len(values)}")
        else:
            rows.append(values)
    if fleet is None or len(rows) < 2:
        raise _fail(path, "no VEHICLE section or fewer than two nodes (depot and a customer)")
    data = np.array(rows)
    if list(data[:, 0].astype(int)) != list(range(len(rows))):
        raise _fail(path, "customer numbers must run 0, 1, 2, ... with the depot first")
    if (data[:, 5] < data[:, 4]).any() or fleet[0] < 1 or fleet[1] < 1:
        raise _fail(path, "a time window closes before it opens, or the fleet is empty")
    return Instance(lines[0].strip() or path.stem, "solomon", data[:, 1], data[:, 2], data[:, 3].astype(np.int64),
                    data[:, 4], data[:, 5], data[:, 6], fleet[0], fleet[1])


def parse_cvrplib(path: str | Path) -> Instance:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read: {exc}") from None
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped == "EOF":
            continue
        if stripped.endswith("SECTION"):
            current = stripped
            sections[current] = []
        elif ":" in stripped and current is None:
            key, _, value = stripped.partition(":")
            header[key.strip().upper()] = value.strip().strip('"')
        elif current is not None:
            sections[current].append(stripped.split())
    try:
        dimension = int(header["DIMENSION"])
        capacity = int(header["CAPACITY"])
        coords = sections["NODE_COORD_SECTION"]
        demands = sections["DEMAND_SECTION"]
        depot = int(sections["DEPOT_SECTION"][0][0])
        if header.get("EDGE_WEIGHT_TYPE", "EUC_2D") != "EUC_2D":
            raise _fail(path, f"only EUC_2D is supported, not {header['EDGE_WEIGHT_TYPE']}")
        xy = np.array([[float(v) for v in row[1:3]] for row in coords])
        demand = np.array([int(row[1]) for row in demands], dtype=np.int64)
    except KeyError as exc:
        raise _fail(path, f"missing {exc.args[0]}") from None
    except (ValueError, IndexError) as exc:
        raise _fail(path, f"malformed section: {exc}") from None
    if len(xy) != dimension or len(demand) != dimension or depot != 1:
        raise _fail(path, f"expected {dimension} coordinates and demands and depot 1")
    if capacity < 1 or (demand > capacity).any():
        raise _fail(path, "capacity must be positive and at least every demand")
    n_vehicles = int(1 + 1.07 * demand.sum() / capacity)
    zeros = np.zeros(dimension)
    return Instance(header.get("NAME", path.stem), "cvrp", xy[:, 0], xy[:, 1], demand, zeros,
                    np.full(dimension, math.inf), zeros, n_vehicles, capacity)


def load_instance(path: str | Path) -> Instance:
    path = Path(path)
    if path.suffix.lower() == ".vrp":
        return parse_cvrplib(path)
    if path.suffix.lower() == ".txt":
        return parse_solomon(path)
    raise _fail(path, "unknown instance format (expected a Solomon .txt or a CVRPLIB .vrp file)")


def read_bks(directory: str | Path) -> dict[str, float]:
    """Reference cost per instance name from ``bks.csv`` (``ref_distance`` for Solomon, ``bks_cost`` for CVRP)."""
    path = Path(directory) / "bks.csv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for row in rows:
        value = row.get("ref_distance") or row.get("bks_cost")
        if value:
            out[row["instance"]] = float(value)
    return out
