"""CPU and memory of every part of the run over time (load generator included, to show it is not the limit).

A background thread samples groups of processes every ``interval_s``: CPU in % of one core (summed over the
group) and RSS in MiB, plus the busiest single process of the group (a Locust process near 100 % would mean
the generator, not the system, sets the pace).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psutil

PidSource = Callable[[], list[int]]


def tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    try:
        proc = psutil.Process(pid)
        return [pid] + [c.pid for c in proc.children(recursive=True)]
    except psutil.Error:
        return []


class Monitor:
    def __init__(self, groups: dict[str, PidSource], interval_s: float = 2.0) -> None:
        self.groups = groups
        self.interval_s = interval_s
        self.samples: list[dict] = []  # {"t": s since start, group: {"cpu": %, "max_cpu": %, "rss_mb": MiB}}
        self._procs: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="monitor")
        self._t0 = time.monotonic()

    def _proc(self, pid: int) -> psutil.Process | None:
        proc = self._procs.get(pid)
        if proc is None:
            try:
                proc = self._procs[pid] = psutil.Process(pid)
                proc.cpu_percent()  # the first call only sets the baseline
            except psutil.Error:
                return None
        return proc

    def sample(self) -> dict:
        row: dict = {"t": round(time.monotonic() - self._t0, 1)}
        for name, source in self.groups.items():
            cpu, top, rss = 0.0, 0.0, 0
            pids = source()
            if not pids:  # not running (yet, or any more): no sample rather than a zero
                continue
            for pid in pids:
                proc = self._proc(pid)
                if proc is None:
                    continue
                try:
                    c = proc.cpu_percent()
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
                cpu += c
                top = max(top, c)
            row[name] = {"cpu": round(cpu, 1), "max_cpu": round(top, 1), "rss_mb": round(rss / 2**20, 1)}
        return row

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.samples.append(self.sample())

    def start(self) -> None:
        self.sample()  # baselines
        self._thread.start()

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def summary(self, skip_s: float = 5.0) -> dict[str, dict[str, float]]:
        """Mean and peak CPU per group, and the busiest single process' peak, past the first ``skip_s``."""
        rows = [s for s in self.samples if s["t"] >= skip_s] or self.samples
        out = {}
        for name in self.groups:
            vals = [s[name] for s in rows if name in s]
            if vals:
                out[name] = {"cpu_mean": round(sum(v["cpu"] for v in vals) / len(vals), 1),
                             "cpu_peak": max(v["cpu"] for v in vals),
                             "busiest_process_peak": max(v["max_cpu"] for v in vals),
                             "rss_first_mb": vals[0]["rss_mb"], "rss_last_mb": vals[-1]["rss_mb"]}
        return out
