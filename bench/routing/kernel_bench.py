"""Compiled kernels against their pure-Python twins on 2,000 points (printed by the benchmark)."""

from __future__ import annotations

import time

import numpy as np

from routing import _fast_py

N_POINTS = 2000
TEHRAN = (35.70, 51.40)


def _best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def kernel_timings(n: int = N_POINTS, seed: int = 7) -> list[tuple[str, float, float]]:
    """(kernel, compiled seconds, Python seconds); raises ImportError when the extension is not built."""
    from routing import _fast

    rng = np.random.default_rng(seed)
    lat = TEHRAN[0] + rng.uniform(-0.05, 0.05, n)
    lon = TEHRAN[1] + rng.uniform(-0.06, 0.06, n)
    xs, ys = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    dist, dur = _fast.haversine_matrices(lat, lon, 1.3, 6.0)
    order = rng.permutation(np.arange(1, n)).astype(np.int64)
    offsets = np.arange(0, n, 40, dtype=np.int64)
    offsets = np.append(offsets[offsets < n - 1], n - 1)
    zeros, ones = np.zeros(n, np.int64), np.ones(n, np.int64)
    due = np.full(n, 1 << 40, np.int64)
    evaluation_args = (offsets, order, dist, dur, ones, zeros, zeros, due, ones * 60)
    neighbours = _fast.nearest_neighbours(dist, 40)
    sisr_args = (dist, dur, ones, zeros, zeros, due, ones * 60, 40, 1 << 50, 60, 0, neighbours, [],
                 (10, 10, 0.5, 0.5, 0.01, 0.4, 0.004, 0.01), 1, 0, 30)
    cases = [
        ("haversine distance+duration matrices", lambda m: m.haversine_matrices(lat, lon, 1.3, 6.0), 3, 1),
        ("euclidean x1000 integer matrix", lambda m: m.euclidean_matrix(xs, ys, 1000.0), 3, 1),
        ("nearest neighbours (k=40)", lambda m: m.nearest_neighbours(dist, 40), 3, 1),
        ("route cost+feasibility evaluation", lambda m: m.evaluate_routes(*evaluation_args), 20, 3),
        ("SISR ruin-and-recreate (30 iterations)", lambda m: m.sisr(*sisr_args), 2, 1),
    ]
    return [(name, _best_of(lambda: fn(_fast), fast_reps), _best_of(lambda: fn(_fast_py), py_reps))
            for name, fn, fast_reps, py_reps in cases]


def kernel_table(n: int = N_POINTS) -> str:
    try:
        rows = kernel_timings(n)
    except ImportError:
        return "kernel speed: routing._fast is not built (python setup.py build_ext --inplace)"
    lines = [f"Cython kernels vs pure-Python twins, {n} points (best of several runs)",
             f"{'kernel':<40} {'Cython':>10} {'Python':>10} {'speedup':>9}"]
    for name, compiled, python in rows:
        lines.append(f"{name:<40} {compiled * 1000:>8.2f}ms {python * 1000:>8.0f}ms {python / compiled:>8.0f}x")
    return "\n".join(lines)
