import importlib
from pathlib import Path

import numpy as np
import pytest

from bench.routing.instances import Instance, parse_solomon
from routing import _fast_py

DATA = Path(__file__).resolve().parents[1] / "data" / "routing"


def _compiled():
    try:
        return importlib.import_module("routing._fast")
    except ImportError:
        return None


@pytest.fixture(params=["compiled", "python"])
def kernels(request):
    """Both implementations of the kernels, like aiohttp's C and pure-Python parsers."""
    if request.param == "python":
        return _fast_py
    module = _compiled()
    if module is None:
        pytest.skip("routing._fast is not built")
    return module


@pytest.fixture(scope="session")
def r101() -> Instance:
    return parse_solomon(DATA / "R101.txt")


def first_customers(instance: Instance, count: int) -> Instance:
    """The classic 25/50-customer Solomon variants: the depot and the first ``count`` customers."""
    keep = slice(0, count + 1)
    return Instance(f"{instance.name}.{count}", instance.kind, instance.x[keep], instance.y[keep],
                    instance.demand[keep], instance.ready[keep], instance.due[keep], instance.service[keep],
                    instance.n_vehicles, instance.capacity)


@pytest.fixture(scope="session")
def r101_25(r101) -> Instance:
    return first_customers(r101, 25)


def write_cvrp(path: Path, points: list[tuple[int, int, int]], capacity: int) -> Path:
    """A CVRPLIB file; the first point is the depot."""
    lines = [f"NAME : {path.stem}", "TYPE : CVRP", f"DIMENSION : {len(points)}", "EDGE_WEIGHT_TYPE : EUC_2D",
             f"CAPACITY : {capacity}", "NODE_COORD_SECTION"]
    lines += [f"{i + 1} {x} {y}" for i, (x, y, _) in enumerate(points)]
    lines += ["DEMAND_SECTION"] + [f"{i + 1} {d}" for i, (_, _, d) in enumerate(points)]
    lines += ["DEPOT_SECTION", "1", "-1", "EOF"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def small_cvrp(tmp_path) -> Path:
    rng = np.random.default_rng(3)
    points = [(500, 500, 0)] + [(int(x), int(y), int(d)) for x, y, d in
                                zip(rng.integers(0, 1000, 30), rng.integers(0, 1000, 30), rng.integers(1, 10, 30))]
    return write_cvrp(tmp_path / "T-n31-k5.vrp", points, 40)
