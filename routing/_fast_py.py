"""Pure-Python twin of ``routing._fast``: same functions, same arguments, same results (bit for bit).

It is the reference the compiled kernels are tested against, and the fallback when the extension is
not built or ``BARID_NO_EXTENSIONS=1`` is set. Keep both files in step, line for line where possible.
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np

EARTH_RADIUS_M = 6_371_000.0
MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
INF = 1 << 62
# Share of the run the fleet minimisation may take while customers are left out; after it, annealing on cost
# (the count of customers left out only falls): when no plan serves everyone, the plan still gets a good cost.
FLEET_MIN_SHARE = 0.7


def haversine_matrices(lat, lon, road_factor: float, speed_mps: float):
    """Road distance (m) and driving time (s) matrices: great-circle metres times a road factor."""
    n = len(lat)
    rlat = [math.radians(v) for v in lat]
    rlon = [math.radians(v) for v in lon]
    coslat = [math.cos(v) for v in rlat]
    dist = [[0] * n for _ in range(n)]
    dur = [[0] * n for _ in range(n)]
    for i in range(n):
        row_d, row_t = dist[i], dur[i]
        for j in range(i + 1, n):
            s1, s2 = math.sin((rlat[j] - rlat[i]) * 0.5), math.sin((rlon[j] - rlon[i]) * 0.5)
            a = s1 * s1 + coslat[i] * coslat[j] * s2 * s2
            metres = 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(a)) * road_factor
            d = int(metres + 0.5)
            t = int(metres / speed_mps + 0.5)
            row_d[j] = d
            dist[j][i] = d
            row_t[j] = t
            dur[j][i] = t
    return np.array(dist, dtype=np.int64), np.array(dur, dtype=np.int64)


def euclidean_matrix(x, y, scale: float, round_up: bool = False):
    """round(scale × Euclidean distance) as int64 (scale 1: the CVRPLIB nint convention); ceil with round_up,
    for travel times that must never undercut the exact ones."""
    n = len(x)
    xs, ys = [float(v) for v in x], [float(v) for v in y]
    out = [[0] * n for _ in range(n)]
    for i in range(n):
        row = out[i]
        for j in range(i + 1, n):
            exact = math.sqrt((xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2) * scale
            d = int(math.ceil(exact)) if round_up else int(exact + 0.5)
            row[j] = d
            out[j][i] = d
    return np.array(out, dtype=np.int64)


def nearest_neighbours(matrix, k: int):
    """For each node, the k nearest other customers (node 0 is the depot and never a neighbour), ties by index."""
    rows = matrix.tolist()
    n = len(rows)
    k = min(k, n - 2) if n > 2 else 0
    out = np.zeros((n, k), dtype=np.int32)
    for i in range(n):
        row = rows[i]
        best = heapq.nsmallest(k, ((row[j], j) for j in range(1, n) if j != i))
        out[i, :] = [j for _, j in best]
    return out


class _Matrix:
    """Plain-int reads of a NumPy matrix (NumPy scalars would turn every sum into NumPy arithmetic)."""

    def __init__(self, array):
        self._item = array.item

    def __getitem__(self, ij):
        return self._item(ij)


def evaluate_routes(offsets, nodes, distance, duration, demand, cod, ready, due, service, pickup=None):
    """Per route (nodes[offsets[r]:offsets[r+1]], customers only): distance, duration, peak load, COD, lateness;
    and the service start time of every stop (waiting allowed), departing the depot at ready[0].

    A vehicle leaves with every delivery (``demand``) of its route on board; the load falls at each delivery
    and rises at each pickup (``pickup``, none when None): the peak is the most it carries at any point."""
    offsets, nodes = offsets.tolist(), nodes.tolist()
    pickup = [0] * len(demand) if pickup is None else pickup.tolist()
    # matrices are read entry by entry: converting n² entries would cost far more than the routes' n arcs
    dist, dur = _Matrix(distance), _Matrix(duration)
    demand, cod, ready, due, service = demand.tolist(), cod.tolist(), ready.tolist(), due.tolist(), service.tolist()
    n_routes = len(offsets) - 1
    metrics = [[0] * 5 for _ in range(n_routes)]
    starts = [0] * len(nodes)
    for r in range(n_routes):
        prev, clock = 0, ready[0]
        d = load = cash = late = rise = top = 0
        for k in range(offsets[r], offsets[r + 1]):
            c = nodes[k]
            d += dist[prev, c]
            clock += service[prev] + dur[prev, c]
            if clock < ready[c]:
                clock = ready[c]
            if clock > due[c]:
                late += clock - due[c]
            starts[k] = clock
            load += demand[c]
            rise += pickup[c] - demand[c]
            if rise > top:
                top = rise
            cash += cod[c]
            prev = c
        if offsets[r + 1] > offsets[r]:
            d += dist[prev, 0]
            clock += service[prev] + dur[prev, 0]
            if clock > due[0]:
                late += clock - due[0]
            metrics[r] = [d, clock - ready[0], load + top, cash, late]
    return np.array(metrics, dtype=np.int64).reshape(n_routes, 5), np.array(starts, dtype=np.int64)


class _Rng:
    """splitmix64, so the compiled kernel and this twin draw the same numbers."""

    def __init__(self, seed: int):
        self.state = (seed * GOLDEN + 0x632BE59BD9B4E019) & MASK64

    def next(self) -> int:
        self.state = (self.state + GOLDEN) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self) -> float:  # in (0, 1]
        return ((self.next() >> 11) + 1) * (1.0 / 9007199254740992.0)

    def below(self, k: int) -> int:
        return int((self.next() >> 11) * (1.0 / 9007199254740992.0) * k)


class _Solution:
    def __init__(self, n: int, n_routes: int):
        self.routes = [[] for _ in range(n_routes)]
        self.early = [[] for _ in range(n_routes)]
        self.late = [[] for _ in range(n_routes)]
        self.load = [0] * n_routes  # deliveries on board when the route leaves the depot
        self.pick = [0] * n_routes  # pickups on board when it comes back
        # load profile: pmax[r][k] the most on board up to the k-th stop (0: leaving the depot), smax[r][k] the
        # most from it on, so an insertion's capacity check is O(1) (only kept with pickups)
        self.pmax = [[0] for _ in range(n_routes)]
        self.smax = [[0] for _ in range(n_routes)]
        self.cash = [0] * n_routes
        self.cost = [0] * n_routes
        self.route_of = [-1] * n
        self.pos_of = [0] * n
        self.total = 0
        self.routed = 0

    def copy_routes_from(self, other: "_Solution", routes: list[int]) -> None:
        # Two passes: a customer may have moved between two of the copied routes.
        for r in routes:
            for c in self.routes[r]:
                self.route_of[c] = -1
        for r in routes:
            self.routes[r] = other.routes[r][:]
            self.early[r] = other.early[r][:]
            self.late[r] = other.late[r][:]
            self.pmax[r] = other.pmax[r][:]
            self.smax[r] = other.smax[r][:]
            self.load[r], self.cash[r], self.cost[r] = other.load[r], other.cash[r], other.cost[r]
            self.pick[r] = other.pick[r]
            for k, c in enumerate(self.routes[r]):
                self.route_of[c] = r
                self.pos_of[c] = k
        self.total, self.routed = other.total, other.routed


class _Sisr:
    """Slack Induction by String Removals (Christiaens & Vanden Berghe, 2020): ruin strings of adjacent
    customers, reinsert them greedily with blinks, accept by simulated annealing."""

    def __init__(self, distance, duration, demand, cod, ready, due, service, capacity, cod_capacity, n_vehicles,
                 fixed_cost, neighbours, params, seed, pickup=None):
        self.dist, self.time = distance.tolist(), duration.tolist()
        self.demand, self.cod = demand.tolist(), cod.tolist()
        self.pickup = [0] * len(self.demand) if pickup is None else [int(v) for v in pickup]
        self.has_pickups = any(self.pickup)
        self.ready, self.due, self.service = ready.tolist(), due.tolist(), service.tolist()
        self.capacity, self.cod_capacity = int(capacity), int(cod_capacity)
        self.n, self.n_routes, self.fixed = len(self.dist), int(n_vehicles), int(fixed_cost)
        self.neigh = neighbours.tolist()
        (self.avg_removed, self.max_string, self.split_rate, self.split_depth, self.blink_rate,
         self.t0_factor, self.tf_factor, self.route_removal_rate) = (float(v) for v in params)
        self.rng = _Rng(seed)
        # An unserved customer costs far more than any insertion, so annealing never trades one for distance.
        self.penalty = 100 * (max([self.dist[0][c] + self.dist[c][0] for c in range(1, self.n)] + [1]) + self.fixed)
        self.touched_flag = [False] * self.n_routes
        self.seen = [0] * self.n_routes
        self.seen_mark = 0
        self.touched: list[int] = []
        self.removed: list[int] = []
        # How often each customer was left out: while some are, the search minimises their summed counts
        # (Christiaens & Vanden Berghe's fleet minimisation), so the customers hardest to place go in first.
        self.absences = [0] * self.n
        self.short = False  # the current solution leaves customers out
        # When the whole fleet carries less than the total demand (or cash), no plan serves everyone: the
        # cost-blind walk would only spoil the cost, so the search anneals on cost from the start.
        self.fleet_min_share = FLEET_MIN_SHARE
        if (sum(self.demand[1:]) > self.n_routes * self.capacity
                or sum(self.pickup[1:]) > self.n_routes * self.capacity
                or sum(self.cod[1:]) > self.n_routes * self.cod_capacity):
            self.fleet_min_share = 0.0

    def refresh(self, s: _Solution, r: int) -> None:
        """Recompute route r: earliest and latest service starts, load, cash, cost, positions."""
        route, dist, time_, service, ready, due = s.routes[r], self.dist, self.time, self.service, self.ready, self.due
        m = len(route)
        early, late = [0] * m, [0] * m
        prev, clock, cost, load, cash, pick = 0, ready[0], 0, 0, 0, 0
        for k in range(m):
            c = route[k]
            clock += service[prev] + time_[prev][c]
            if clock < ready[c]:
                clock = ready[c]
            early[k] = clock
            cost += dist[prev][c]
            load += self.demand[c]
            pick += self.pickup[c]
            cash += self.cod[c]
            s.route_of[c] = r
            s.pos_of[c] = k
            prev = c
        nxt, latest = 0, due[0]
        for k in range(m - 1, -1, -1):
            c = route[k]
            latest = min(due[c], latest - time_[c][nxt] - service[c])
            late[k] = latest
            nxt = c
        if m:
            cost += dist[prev][0] + self.fixed
        s.early[r], s.late[r] = early, late
        s.total += cost - s.cost[r]
        s.load[r], s.cash[r], s.cost[r], s.pick[r] = load, cash, cost, pick
        if self.has_pickups:
            self.profile(s, r)

    def profile(self, s: _Solution, r: int) -> None:
        """Route r's load profile: most on board up to each stop (pmax) and from each stop on (smax)."""
        route, m = s.routes[r], len(s.routes[r])
        pmax, smax = [0] * (m + 1), [0] * (m + 1)
        on_board = top = s.load[r]
        pmax[0] = top
        for k in range(m):
            c = route[k]
            on_board += self.pickup[c] - self.demand[c]
            if on_board > top:
                top = on_board
            pmax[k + 1] = top
        top = on_board
        smax[m] = top
        for k in range(m - 1, -1, -1):
            c = route[k]
            on_board += self.demand[c] - self.pickup[c]
            if on_board > top:
                top = on_board
            smax[k] = top
        s.pmax[r], s.smax[r] = pmax, smax

    def touch(self, r: int) -> None:
        if not self.touched_flag[r]:
            self.touched_flag[r] = True
            self.touched.append(r)

    def objective(self, s: _Solution) -> int:
        return s.total + (self.n - 1 - s.routed) * self.penalty

    def ruin(self, s: _Solution) -> None:
        rng = self.rng
        used = 0
        for r in range(self.n_routes):
            if s.routes[r]:
                used += 1
        if s.routed < self.n - 1:  # customers left out earlier get another chance
            for c in range(1, self.n):
                if s.route_of[c] < 0:
                    self.removed.append(c)
        if used == 0:
            return
        if rng.uniform() < self.route_removal_rate:
            self.remove_route(s, rng.below(used))
            return
        ls_max = min(self.max_string, s.routed / used)
        ks_max = 4.0 * self.avg_removed / (1.0 + ls_max) - 1.0
        ks = int(rng.uniform() * ks_max) + 1
        if self.removed and rng.uniform() < 0.5:
            # around a customer left out: its neighbours' routes are where room must be made
            seed = self.removed[rng.below(len(self.removed))]
        else:
            seed = 1 + rng.below(self.n - 1)
            while s.route_of[seed] < 0:
                seed = 1 + seed % (self.n - 1)
        neigh = self.neigh[seed]
        ruined, k = 0, -1
        while ruined < ks and k < len(neigh):
            c = seed if k < 0 else neigh[k]
            k += 1
            r = s.route_of[c]
            if r < 0 or self.touched_flag[r]:
                continue
            route = s.routes[r]
            m = len(route)
            length = int(rng.uniform() * min(float(m), ls_max)) + 1
            if length > m:
                length = m
            keep = 0
            if 1 < length < m and rng.uniform() < self.split_rate:
                keep = 1
                while length + keep < m and rng.uniform() > self.split_depth:
                    keep += 1
            span = length + keep
            pos = s.pos_of[c]
            lo, hi = max(0, pos - span + 1), min(pos, m - span)
            start = lo + rng.below(hi - lo + 1)
            # the kept block sits strictly inside the span, so both of its sides lose customers
            keep_at = start + 1 + rng.below(length - 1) if keep else start + span
            kept = []
            for q in range(m):
                if start <= q < start + span and not keep_at <= q < keep_at + keep:
                    self.removed.append(route[q])
                    s.route_of[route[q]] = -1
                else:
                    kept.append(route[q])
            s.routed -= m - len(kept)
            s.routes[r] = kept
            self.touch(r)
            self.refresh(s, r)
            ruined += 1

    def remove_route(self, s: _Solution, which: int) -> None:
        """Empty the which-th used route: strings alone rarely free a long route (few, wide time windows)."""
        for r in range(self.n_routes):
            if s.routes[r]:
                if which == 0:
                    for c in s.routes[r]:
                        self.removed.append(c)
                        s.route_of[c] = -1
                    s.routed -= len(s.routes[r])
                    s.routes[r] = []
                    self.touch(r)
                    self.refresh(s, r)
                    return
                which -= 1

    def sort_removed(self) -> None:
        rng, removed = self.rng, self.removed
        if self.short and rng.uniform() < 0.5:
            # the customers most often left out go first, while the routes still have room
            removed.sort(key=lambda c: (-self.absences[c], c))
            return
        w = rng.uniform() * 11.0
        if w <= 4.0:
            for i in range(len(removed) - 1, 0, -1):
                j = rng.below(i + 1)
                removed[i], removed[j] = removed[j], removed[i]
        elif w <= 8.0:
            removed.sort(key=lambda c: (-max(self.demand[c], self.pickup[c]), c))
        elif w <= 10.0:
            removed.sort(key=lambda c: (-self.dist[0][c], c))
        else:
            removed.sort(key=lambda c: (self.dist[0][c], c))

    def around(self, s: _Solution, r: int, before: int, after: int) -> tuple[int, int, int, int]:
        """The stops either side of a slot in route r (index -1 or the route's length: the depot): the one
        before and when it is left at the earliest, the one after and its latest service start."""
        if before >= 0:
            p = s.routes[r][before]
            depart = s.early[r][before] + self.service[p]
        else:
            p, depart = 0, self.ready[0] + self.service[0]
        if after < len(s.routes[r]):
            return p, depart, s.routes[r][after], s.late[r][after]
        return p, depart, 0, self.due[0]

    def best_position(self, s: _Solution, r: int, c: int, best: list) -> None:
        """Cheapest feasible position for c in route r (each position skipped with the blink rate)."""
        dc, pc, cap = self.demand[c], self.pickup[c], self.capacity
        # the depot departure and the return bound every position's peak load
        if s.load[r] + dc > cap or s.pick[r] + pc > cap or s.cash[r] + self.cod[c] > self.cod_capacity:
            return
        dist, time_, service, ready, due, rng = self.dist, self.time, self.service, self.ready, self.due, self.rng
        pmax, smax = s.pmax[r], s.smax[r]
        m = len(s.routes[r])
        for pos in range(m + 1):
            if rng.uniform() < self.blink_rate:
                continue
            p, depart, q, latest = self.around(s, r, pos - 1, pos)
            delta = dist[p][c] + dist[c][q] - dist[p][q]
            if delta >= best[0]:
                continue
            # c's delivery rides from the depot to c, its pickup from c back: the stops before and after it
            if self.has_pickups and (pmax[pos] + dc > cap or smax[pos] + pc > cap):
                continue
            arrive = depart + time_[p][c]
            if arrive < ready[c]:
                arrive = ready[c]
            if arrive > due[c] or arrive + service[c] + time_[c][q] > latest:
                continue
            best[0], best[1], best[2] = delta, r, pos

    def open_route(self, r: int, c: int, best: list) -> None:
        """A new route depot → c → depot, if feasible and cheaper than the best insertion so far."""
        time_, ready, due = self.time, self.ready, self.due
        delta = self.dist[0][c] + self.dist[c][0] + self.fixed
        if (delta >= best[0] or self.demand[c] > self.capacity or self.pickup[c] > self.capacity
                or self.cod[c] > self.cod_capacity):
            return
        arrive = ready[0] + self.service[0] + time_[0][c]
        if arrive < ready[c]:
            arrive = ready[c]
        if arrive > due[c] or arrive + self.service[c] + time_[c][0] > due[0]:
            return
        best[0], best[1], best[2] = delta, r, 0

    def eject_insert(self, s: _Solution, c: int) -> None:
        """c takes the place of a customer left out less often than c so far (fewest absences, then cheapest),
        which leaves the route: an ejection chain (Nagata & Bräysy) through the pool of customers left out, so
        full routes are repacked one swap at a time (bin-packing-tight fleets, where no insertion fits)."""
        dist, time_, service, ready, due = self.dist, self.time, self.service, self.ready, self.due
        demand, pickup, cap = self.demand, self.pickup, self.capacity
        absences, limit = self.absences, self.absences[c]
        best_abs, best_delta, best_r, best_k = INF, INF, -1, 0
        for r in range(self.n_routes):
            route, pmax, smax = s.routes[r], s.pmax[r], s.smax[r]
            m = len(route)
            for k in range(m):
                e = route[k]
                a = absences[e]
                if a >= limit or a > best_abs:
                    continue
                if (s.load[r] - demand[e] + demand[c] > cap
                        or s.cash[r] - self.cod[e] + self.cod[c] > self.cod_capacity):
                    continue
                # loads before e change by c's delivery less e's, loads after it by c's pickup less e's
                if self.has_pickups and (pmax[k] - demand[e] + demand[c] > cap
                                         or smax[k + 1] - pickup[e] + pickup[c] > cap):
                    continue
                p, depart, q, latest = self.around(s, r, k - 1, k + 1)
                delta = dist[p][c] + dist[c][q] - dist[p][e] - dist[e][q]
                if a == best_abs and delta >= best_delta:
                    continue
                arrive = depart + time_[p][c]
                if arrive < ready[c]:
                    arrive = ready[c]
                if arrive > due[c] or arrive + service[c] + time_[c][q] > latest:
                    continue
                best_abs, best_delta, best_r, best_k = a, delta, r, k
        if best_r < 0:
            return
        e = s.routes[best_r][best_k]
        s.routes[best_r][best_k] = c
        s.route_of[e] = -1
        self.touch(best_r)
        self.refresh(s, best_r)

    def recreate(self, s: _Solution) -> None:
        self.sort_removed()
        for c in self.removed:
            best = [INF, -1, 0]
            self.seen_mark += 1
            found = False
            for m in self.neigh[c]:
                r = s.route_of[m]
                if r >= 0 and self.seen[r] != self.seen_mark:
                    self.seen[r] = self.seen_mark
                    found = True
                    self.best_position(s, r, c, best)
            if not found:
                for r in range(self.n_routes):
                    if s.routes[r]:
                        self.best_position(s, r, c, best)
            for r in range(self.n_routes):
                if not s.routes[r]:
                    self.open_route(r, c, best)
                    break
            if best[1] < 0 and found:
                # the nearby routes are full (a tight fleet): any route with room beats leaving c out
                for r in range(self.n_routes):
                    if s.routes[r] and self.seen[r] != self.seen_mark:
                        self.best_position(s, r, c, best)
            r = best[1]
            if r < 0:
                if self.short:
                    self.eject_insert(s, c)
                continue
            s.routes[r].insert(best[2], c)
            s.routed += 1
            self.touch(r)
            self.refresh(s, r)
        self.removed = []

    def absent(self, s: _Solution) -> int:
        """Summed absence counts of the customers s leaves out."""
        return sum(self.absences[c] for c in range(1, self.n) if s.route_of[c] < 0)

    def accept(self, current: _Solution, candidate: _Solution, obj: int, current_obj: int,
               temperature: float, progress: float) -> bool:
        """Simulated annealing on cost once everyone is served; before, fewer customers left out, or ones
        left out less often so far: a cost-blind walk that does not stall on one hard customer (annealing on
        cost in this phase too was tried: it kept bin-packing-tight fleets one customer short)."""
        if candidate.routed < self.n - 1:
            for c in range(1, self.n):
                if candidate.route_of[c] < 0:
                    self.absences[c] += 1
        if current.routed == self.n - 1 or progress >= self.fleet_min_share:
            return obj < current_obj - temperature * math.log(self.rng.uniform())
        return candidate.routed > current.routed or self.absent(candidate) < self.absent(current)

    def run(self, current: _Solution, time_limit_s: float, max_iterations: int) -> tuple[_Solution, int]:
        n_routes = self.n_routes
        everyone = list(range(n_routes))
        candidate = _Solution(self.n, n_routes)
        best = _Solution(self.n, n_routes)
        self.removed = [c for c in range(1, self.n) if current.route_of[c] < 0]
        self.recreate(current)
        self.touched_flag = [False] * n_routes
        self.touched = []
        candidate.copy_routes_from(current, everyone)
        best.copy_routes_from(current, everyone)
        current_obj = best_obj = self.objective(current)
        avg_edge = max(1.0, current.total / (current.routed + n_routes))
        t0, tf = self.t0_factor * avg_edge, self.tf_factor * avg_edge
        started = time.perf_counter()
        elapsed = 0.0
        iteration = 0
        while True:
            if max_iterations > 0 and iteration >= max_iterations:
                break
            if time_limit_s > 0 and iteration % 64 == 0:
                elapsed = time.perf_counter() - started
                if elapsed >= time_limit_s:
                    break
            progress = 0.0
            if max_iterations > 0:
                progress = iteration / max_iterations
            if time_limit_s > 0 and elapsed / time_limit_s > progress:
                progress = elapsed / time_limit_s
            temperature = t0 * (tf / t0) ** progress
            self.short = current.routed < self.n - 1
            self.ruin(candidate)
            self.recreate(candidate)
            obj = self.objective(candidate)
            if self.accept(current, candidate, obj, current_obj, temperature, progress):
                current.copy_routes_from(candidate, self.touched)
                current_obj = obj
                if obj < best_obj:
                    best.copy_routes_from(candidate, everyone)
                    best_obj = obj
            else:
                candidate.copy_routes_from(current, self.touched)
            for r in self.touched:
                self.touched_flag[r] = False
            self.touched = []
            iteration += 1
        return best, iteration


def _check_routes(routes, n: int, n_routes: int) -> None:
    """Initial routes index raw arrays: refuse anything but distinct customers 1..n-1 on at most n_routes."""
    customers = [int(c) for route in routes for c in route]
    if len(routes) > n_routes or len(set(customers)) != len(customers) or any(not 0 < c < n for c in customers):
        raise ValueError("initial routes must hold distinct customers 1..n-1, at most one route per vehicle")


def sisr(distance, duration, demand, cod, ready, due, service, capacity, cod_capacity, n_vehicles, fixed_cost,
         neighbours, initial_routes, params, seed, time_limit_s, max_iterations, pickup=None):
    """Improve (or build, from no routes) a solution by SISR; returns (routes, cost, iterations).

    params = (avg_removed, max_string, split_rate, split_depth, blink_rate, t0_factor, tf_factor,
    route_removal_rate);
    stops at time_limit_s (> 0) or max_iterations (> 0), whichever comes first. ``demand`` is delivered,
    ``pickup`` (none when None) collected: the load leaving the depot is the route's deliveries and stays within
    ``capacity`` at every point of the route."""
    engine = _Sisr(distance, duration, demand, cod, ready, due, service, capacity, cod_capacity, n_vehicles,
                   fixed_cost, neighbours, params, seed, pickup)
    start = _Solution(engine.n, engine.n_routes)
    _check_routes(initial_routes, engine.n, engine.n_routes)
    for r, route in enumerate(initial_routes):
        start.routes[r] = [int(c) for c in route]
        start.routed += len(route)
        engine.refresh(start, r)
    best, iterations = engine.run(start, float(time_limit_s), int(max_iterations))
    routes = [route[:] for route in best.routes if route]
    return routes, best.total, iterations
