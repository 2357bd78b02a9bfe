# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled kernels of the router (private; ``routing.fast`` picks this or the pure-Python twin ``_fast_py``).

Keep every function in step with ``_fast_py.py``: the tests demand identical results from both.
"""

import time

import numpy as np

from libc.math cimport asin, ceil, cos, log, pow, sin, sqrt
from libc.stdlib cimport qsort
from libc.string cimport memcpy


ctypedef long long i64
ctypedef unsigned long long u64

cdef double EARTH_RADIUS_M = 6371000.0
cdef double DEG = 3.14159265358979323846 / 180.0
cdef u64 GOLDEN = 0x9E3779B97F4A7C15ULL
cdef double INV53 = 1.0 / 9007199254740992.0
cdef i64 INF = 1LL << 62
# Share of the run the fleet minimisation may take while customers are left out (see the twin).
cdef double FLEET_MIN_SHARE = 0.7


def haversine_matrices(double[::1] lat, double[::1] lon, double road_factor, double speed_mps):
    cdef Py_ssize_t n = lat.shape[0], i, j
    cdef double[::1] rlat = np.empty(n), rlon = np.empty(n), coslat = np.empty(n)
    dist_arr = np.zeros((n, n), dtype=np.int64)
    dur_arr = np.zeros((n, n), dtype=np.int64)
    cdef i64[:, ::1] dist = dist_arr, dur = dur_arr
    cdef double a, s1, s2, metres
    cdef i64 d, t
    for i in range(n):
        rlat[i] = lat[i] * DEG
        rlon[i] = lon[i] * DEG
        coslat[i] = cos(rlat[i])
    with nogil:
        for i in range(n):
            for j in range(i + 1, n):
                s1 = sin((rlat[j] - rlat[i]) * 0.5)
                s2 = sin((rlon[j] - rlon[i]) * 0.5)
                a = s1 * s1 + coslat[i] * coslat[j] * s2 * s2
                metres = 2.0 * EARTH_RADIUS_M * asin(sqrt(a)) * road_factor
                d = <i64>(metres + 0.5)
                t = <i64>(metres / speed_mps + 0.5)
                dist[i, j] = d
                dist[j, i] = d
                dur[i, j] = t
                dur[j, i] = t
    return dist_arr, dur_arr


def euclidean_matrix(x, y, double scale, bint round_up=False):
    cdef double[::1] xs = np.ascontiguousarray(x, dtype=np.float64), ys = np.ascontiguousarray(y, dtype=np.float64)
    cdef Py_ssize_t n = xs.shape[0], i, j
    out_arr = np.zeros((n, n), dtype=np.int64)
    cdef i64[:, ::1] out = out_arr
    cdef double dx, dy, exact
    cdef i64 d
    with nogil:
        for i in range(n):
            for j in range(i + 1, n):
                dx = xs[i] - xs[j]
                dy = ys[i] - ys[j]
                exact = sqrt(dx * dx + dy * dy) * scale
                d = <i64>ceil(exact) if round_up else <i64>(exact + 0.5)
                out[i, j] = d
                out[j, i] = d
    return out_arr


cdef inline void _sift_down(i64* heap_d, i64* heap_j, Py_ssize_t size) noexcept nogil:
    # max-heap on (distance, index): the root is the worst of the k kept so far
    cdef Py_ssize_t pos = 0, child
    cdef i64 d = heap_d[0], j = heap_j[0]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and (heap_d[child + 1] > heap_d[child] or
                                 (heap_d[child + 1] == heap_d[child] and heap_j[child + 1] > heap_j[child])):
            child += 1
        if heap_d[child] > d or (heap_d[child] == d and heap_j[child] > j):
            heap_d[pos] = heap_d[child]
            heap_j[pos] = heap_j[child]
            pos = child
        else:
            break
    heap_d[pos] = d
    heap_j[pos] = j


cdef inline void _sift_up(i64* heap_d, i64* heap_j, Py_ssize_t pos) noexcept nogil:
    cdef i64 d = heap_d[pos], j = heap_j[pos]
    cdef Py_ssize_t parent
    while pos > 0:
        parent = (pos - 1) // 2
        if d > heap_d[parent] or (d == heap_d[parent] and j > heap_j[parent]):
            heap_d[pos] = heap_d[parent]
            heap_j[pos] = heap_j[parent]
            pos = parent
        else:
            break
    heap_d[pos] = d
    heap_j[pos] = j


def nearest_neighbours(matrix, int k):
    cdef i64[:, ::1] m = np.ascontiguousarray(matrix, dtype=np.int64)
    cdef Py_ssize_t n = m.shape[0], i, j, size, a, b
    if n <= 2:
        k = 0
    elif k > n - 2:
        k = n - 2
    out_arr = np.zeros((n, k), dtype=np.int32)
    cdef int[:, ::1] out = out_arr
    cdef i64[::1] heap_d = np.empty(max(k, 1), dtype=np.int64), heap_j = np.empty(max(k, 1), dtype=np.int64)
    cdef i64 d, tmp
    if k == 0:
        return out_arr
    with nogil:
        for i in range(n):
            size = 0
            for j in range(1, n):
                if j == i:
                    continue
                d = m[i, j]
                if size < k:
                    heap_d[size] = d
                    heap_j[size] = j
                    _sift_up(&heap_d[0], &heap_j[0], size)
                    size += 1
                elif d < heap_d[0]:  # equal distance: the lower index, already kept, wins
                    heap_d[0] = d
                    heap_j[0] = j
                    _sift_down(&heap_d[0], &heap_j[0], size)
            # heap sort in place: pop the maximum to the back
            while size > 1:
                size -= 1
                d = heap_d[size]
                tmp = heap_j[size]
                heap_d[size] = heap_d[0]
                heap_j[size] = heap_j[0]
                heap_d[0] = d
                heap_j[0] = tmp
                _sift_down(&heap_d[0], &heap_j[0], size)
            for a in range(k):
                out[i, a] = <int>heap_j[a]
    return out_arr


def evaluate_routes(offsets, nodes, distance, duration, demand, cod, ready, due, service, pickup=None):
    cdef i64[::1] off = np.ascontiguousarray(offsets, dtype=np.int64), nd = np.ascontiguousarray(nodes, dtype=np.int64)
    cdef i64[:, ::1] dist = np.ascontiguousarray(distance, dtype=np.int64)
    cdef i64[:, ::1] dur = np.ascontiguousarray(duration, dtype=np.int64)
    cdef i64[::1] dem = np.ascontiguousarray(demand, dtype=np.int64), cash_v = np.ascontiguousarray(cod, dtype=np.int64)
    cdef i64[::1] rdy = np.ascontiguousarray(ready, dtype=np.int64), du = np.ascontiguousarray(due, dtype=np.int64)
    cdef i64[::1] svc = np.ascontiguousarray(service, dtype=np.int64)
    cdef i64[::1] pick = np.zeros(dem.shape[0], dtype=np.int64) if pickup is None else \
        np.ascontiguousarray(pickup, dtype=np.int64)
    cdef Py_ssize_t n_routes = off.shape[0] - 1, r, k
    metrics_arr = np.zeros((n_routes, 5), dtype=np.int64)
    starts_arr = np.zeros(nd.shape[0], dtype=np.int64)
    cdef i64[:, ::1] metrics = metrics_arr
    cdef i64[::1] starts = starts_arr
    cdef i64 prev, clock, d, load, cash, late, c, rise, top
    with nogil:
        for r in range(n_routes):
            prev = 0
            clock = rdy[0]
            d = 0
            load = 0
            cash = 0
            late = 0
            rise = 0
            top = 0
            for k in range(off[r], off[r + 1]):
                c = nd[k]
                d += dist[prev, c]
                clock += svc[prev] + dur[prev, c]
                if clock < rdy[c]:
                    clock = rdy[c]
                if clock > du[c]:
                    late += clock - du[c]
                starts[k] = clock
                load += dem[c]
                rise += pick[c] - dem[c]
                if rise > top:
                    top = rise
                cash += cash_v[c]
                prev = c
            if off[r + 1] > off[r]:
                d += dist[prev, 0]
                clock += svc[prev] + dur[prev, 0]
                if clock > du[0]:
                    late += clock - du[0]
                metrics[r, 0] = d
                metrics[r, 1] = clock - rdy[0]
                metrics[r, 2] = load + top
                metrics[r, 3] = cash
                metrics[r, 4] = late
    return metrics_arr, starts_arr


# ---------------------------------------------------------------- SISR ruin-and-recreate (see _fast_py._Sisr)

cdef class _Solution:
    cdef i64[:, ::1] routes, early, late, pmax, smax
    cdef i64[::1] length, load, pick, cash, cost, route_of, pos_of
    cdef i64 total, routed
    cdef bint profile  # keeps the load profile (pmax, smax): only with pickups

    def __init__(self, Py_ssize_t n, Py_ssize_t n_routes, bint profile=False):
        self.profile = profile
        self.routes = np.zeros((n_routes, n), dtype=np.int64)
        self.early = np.zeros((n_routes, n), dtype=np.int64)
        self.late = np.zeros((n_routes, n), dtype=np.int64)
        self.length = np.zeros(n_routes, dtype=np.int64)
        self.pmax = np.zeros((n_routes, n + 1 if profile else 1), dtype=np.int64)
        self.smax = np.zeros((n_routes, n + 1 if profile else 1), dtype=np.int64)
        self.load = np.zeros(n_routes, dtype=np.int64)
        self.pick = np.zeros(n_routes, dtype=np.int64)
        self.cash = np.zeros(n_routes, dtype=np.int64)
        self.cost = np.zeros(n_routes, dtype=np.int64)
        self.route_of = np.full(n, -1, dtype=np.int64)
        self.pos_of = np.zeros(n, dtype=np.int64)
        self.total = 0
        self.routed = 0

    cdef void copy_routes_from(self, _Solution other, i64* which, Py_ssize_t count) noexcept:
        cdef Py_ssize_t a, k, r, m
        cdef i64 c
        for a in range(count):
            r = which[a]
            for k in range(self.length[r]):
                self.route_of[self.routes[r, k]] = -1
        for a in range(count):
            r = which[a]
            m = other.length[r]
            if m:
                memcpy(&self.routes[r, 0], &other.routes[r, 0], m * sizeof(i64))
                memcpy(&self.early[r, 0], &other.early[r, 0], m * sizeof(i64))
                memcpy(&self.late[r, 0], &other.late[r, 0], m * sizeof(i64))
            if self.profile:
                memcpy(&self.pmax[r, 0], &other.pmax[r, 0], (m + 1) * sizeof(i64))
                memcpy(&self.smax[r, 0], &other.smax[r, 0], (m + 1) * sizeof(i64))
            self.length[r] = m
            self.load[r] = other.load[r]
            self.pick[r] = other.pick[r]
            self.cash[r] = other.cash[r]
            self.cost[r] = other.cost[r]
            for k in range(m):
                c = self.routes[r, k]
                self.route_of[c] = r
                self.pos_of[c] = k
        self.total = other.total
        self.routed = other.routed


cdef int _cmp_i64(const void* a, const void* b) noexcept nogil:
    cdef i64 x = (<const i64*>a)[0], y = (<const i64*>b)[0]
    return (x > y) - (x < y)


cdef class _Sisr:
    cdef i64[:, ::1] dist, tim
    cdef int[:, ::1] neigh
    cdef i64[::1] demand, pickup, cod, ready, due, service
    cdef bint has_pickups
    cdef i64 capacity, cod_capacity, fixed, penalty
    cdef Py_ssize_t n, n_routes, n_neigh
    cdef double avg_removed, max_string, split_rate, split_depth, blink_rate, t0_factor, tf_factor
    cdef double route_removal_rate
    cdef u64 state
    cdef char[::1] touched_flag
    cdef i64[::1] seen, touched, removed, keys, everyone, absences
    cdef i64 seen_mark
    cdef Py_ssize_t n_touched, n_removed
    cdef bint short
    cdef double fleet_min_share

    def __init__(self, distance, duration, demand, cod, ready, due, service, capacity, cod_capacity, n_vehicles,
                 fixed_cost, neighbours, params, seed, pickup=None):
        self.dist = np.ascontiguousarray(distance, dtype=np.int64)
        self.tim = np.ascontiguousarray(duration, dtype=np.int64)
        self.demand = np.ascontiguousarray(demand, dtype=np.int64)
        self.pickup = np.zeros(self.demand.shape[0], dtype=np.int64) if pickup is None else \
            np.ascontiguousarray(pickup, dtype=np.int64)
        self.has_pickups = bool(np.asarray(self.pickup).any())
        self.cod = np.ascontiguousarray(cod, dtype=np.int64)
        self.ready = np.ascontiguousarray(ready, dtype=np.int64)
        self.due = np.ascontiguousarray(due, dtype=np.int64)
        self.service = np.ascontiguousarray(service, dtype=np.int64)
        self.neigh = np.ascontiguousarray(neighbours, dtype=np.int32)
        self.capacity, self.cod_capacity = capacity, cod_capacity
        self.n, self.n_routes, self.fixed = self.dist.shape[0], n_vehicles, fixed_cost
        self.n_neigh = self.neigh.shape[1]
        (self.avg_removed, self.max_string, self.split_rate, self.split_depth, self.blink_rate,
         self.t0_factor, self.tf_factor, self.route_removal_rate) = (float(v) for v in params)
        self.state = (<u64>seed) * GOLDEN + 0x632BE59BD9B4E019ULL
        cdef i64 worst = 1, c
        for c in range(1, self.n):
            if self.dist[0, c] + self.dist[c, 0] > worst:
                worst = self.dist[0, c] + self.dist[c, 0]
        self.penalty = 100 * (worst + self.fixed)
        self.touched_flag = np.zeros(self.n_routes, dtype=np.int8)
        self.seen = np.zeros(self.n_routes, dtype=np.int64)
        self.touched = np.zeros(self.n_routes, dtype=np.int64)
        self.everyone = np.arange(self.n_routes, dtype=np.int64)
        self.removed = np.zeros(self.n, dtype=np.int64)
        self.keys = np.zeros(self.n, dtype=np.int64)
        # How often each customer was left out: while some are, the search minimises their summed counts
        # (Christiaens & Vanden Berghe's fleet minimisation), so the customers hardest to place go in first.
        self.absences = np.zeros(self.n, dtype=np.int64)
        self.short = False  # the current solution leaves customers out
        # no plan serves everyone when the fleet carries less than the total demand or cash (see the twin)
        cdef i64 total_demand = 0, total_cash = 0, total_pickup = 0
        for c in range(1, self.n):
            total_demand += self.demand[c]
            total_pickup += self.pickup[c]
            total_cash += self.cod[c]
        self.fleet_min_share = FLEET_MIN_SHARE
        if (total_demand > self.n_routes * self.capacity or total_pickup > self.n_routes * self.capacity
                or total_cash > self.n_routes * self.cod_capacity):
            self.fleet_min_share = 0.0
        self.seen_mark = 0
        self.n_touched = 0
        self.n_removed = 0

    cdef inline u64 next_u64(self) noexcept:
        self.state += GOLDEN
        cdef u64 z = self.state
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
        return z ^ (z >> 31)

    cdef inline double uniform(self) noexcept:
        return <double>((self.next_u64() >> 11) + 1) * INV53

    cdef inline i64 below(self, i64 k) noexcept:
        return <i64>(<double>(self.next_u64() >> 11) * INV53 * k)

    cdef void refresh(self, _Solution s, Py_ssize_t r) noexcept:
        cdef Py_ssize_t m = s.length[r], k
        cdef i64 prev = 0, clock = self.ready[0], cost = 0, load = 0, cash = 0, pick = 0, c, nxt, latest, v
        for k in range(m):
            c = s.routes[r, k]
            clock += self.service[prev] + self.tim[prev, c]
            if clock < self.ready[c]:
                clock = self.ready[c]
            s.early[r, k] = clock
            cost += self.dist[prev, c]
            load += self.demand[c]
            pick += self.pickup[c]
            cash += self.cod[c]
            s.route_of[c] = r
            s.pos_of[c] = k
            prev = c
        nxt = 0
        latest = self.due[0]
        for k in range(m - 1, -1, -1):
            c = s.routes[r, k]
            v = latest - self.tim[c, nxt] - self.service[c]
            latest = self.due[c] if self.due[c] < v else v
            s.late[r, k] = latest
            nxt = c
        if m:
            cost += self.dist[prev, 0] + self.fixed
        s.total += cost - s.cost[r]
        s.load[r] = load
        s.pick[r] = pick
        s.cash[r] = cash
        s.cost[r] = cost
        if self.has_pickups:
            self.profile(s, r)

    cdef void profile(self, _Solution s, Py_ssize_t r) noexcept:
        # most on board up to each stop (pmax) and from each stop on (smax): see the twin
        cdef Py_ssize_t m = s.length[r], k
        cdef i64 on_board = s.load[r], top = s.load[r], c
        s.pmax[r, 0] = top
        for k in range(m):
            c = s.routes[r, k]
            on_board += self.pickup[c] - self.demand[c]
            if on_board > top:
                top = on_board
            s.pmax[r, k + 1] = top
        top = on_board
        s.smax[r, m] = top
        for k in range(m - 1, -1, -1):
            c = s.routes[r, k]
            on_board += self.demand[c] - self.pickup[c]
            if on_board > top:
                top = on_board
            s.smax[r, k] = top

    cdef inline void touch(self, Py_ssize_t r) noexcept:
        if not self.touched_flag[r]:
            self.touched_flag[r] = 1
            self.touched[self.n_touched] = r
            self.n_touched += 1

    cdef inline i64 objective(self, _Solution s) noexcept:
        return s.total + (self.n - 1 - s.routed) * self.penalty

    cdef void ruin(self, _Solution s) noexcept:
        cdef Py_ssize_t r, used = 0, m, q, k, ruined, pos, lo, hi, start, keep_at, span, w
        cdef i64 c, seed, ks, length, keep
        cdef double ls_max, ks_max
        for r in range(self.n_routes):
            if s.length[r]:
                used += 1
        if s.routed < self.n - 1:
            for c in range(1, self.n):
                if s.route_of[c] < 0:
                    self.removed[self.n_removed] = c
                    self.n_removed += 1
        if used == 0:
            return
        if self.uniform() < self.route_removal_rate:
            self.remove_route(s, self.below(used))
            return
        ls_max = <double>s.routed / <double>used
        if self.max_string < ls_max:
            ls_max = self.max_string
        ks_max = 4.0 * self.avg_removed / (1.0 + ls_max) - 1.0
        ks = <i64>(self.uniform() * ks_max) + 1
        if self.n_removed and self.uniform() < 0.5:
            # around a customer left out: its neighbours' routes are where room must be made
            seed = self.removed[self.below(self.n_removed)]
        else:
            seed = 1 + self.below(self.n - 1)
            while s.route_of[seed] < 0:
                seed = 1 + seed % (self.n - 1)
        ruined = 0
        k = -1
        while ruined < ks and k < self.n_neigh:
            c = seed if k < 0 else self.neigh[seed, k]
            k += 1
            r = s.route_of[c]
            if r < 0 or self.touched_flag[r]:
                continue
            m = s.length[r]
            length = <i64>(self.uniform() * (m if m < ls_max else ls_max)) + 1
            if length > m:
                length = m
            keep = 0
            if 1 < length < m and self.uniform() < self.split_rate:
                keep = 1
                while length + keep < m and self.uniform() > self.split_depth:
                    keep += 1
            span = length + keep
            pos = s.pos_of[c]
            lo = pos - span + 1
            if lo < 0:
                lo = 0
            hi = m - span
            if pos < hi:
                hi = pos
            start = lo + self.below(hi - lo + 1)
            keep_at = start + 1 + self.below(length - 1) if keep else start + span
            w = 0
            for q in range(m):
                c = s.routes[r, q]
                if start <= q < start + span and not (keep_at <= q < keep_at + keep):
                    self.removed[self.n_removed] = c
                    self.n_removed += 1
                    s.route_of[c] = -1
                else:
                    s.routes[r, w] = c
                    w += 1
            s.routed -= m - w
            s.length[r] = w
            self.touch(r)
            self.refresh(s, r)
            ruined += 1

    cdef void remove_route(self, _Solution s, i64 which) noexcept:
        cdef Py_ssize_t r, k
        cdef i64 c
        for r in range(self.n_routes):
            if s.length[r]:
                if which == 0:
                    for k in range(s.length[r]):
                        c = s.routes[r, k]
                        self.removed[self.n_removed] = c
                        self.n_removed += 1
                        s.route_of[c] = -1
                    s.routed -= s.length[r]
                    s.length[r] = 0
                    self.touch(r)
                    self.refresh(s, r)
                    return
                which -= 1

    cdef void sort_removed(self) noexcept:
        cdef Py_ssize_t i, j, count = self.n_removed
        cdef i64 tmp, c, top = 0
        cdef double w
        if self.short and self.uniform() < 0.5:
            # the customers most often left out go first, while the routes still have room
            for i in range(count):
                if self.absences[self.removed[i]] > top:
                    top = self.absences[self.removed[i]]
            for i in range(count):
                c = self.removed[i]
                self.keys[i] = (top - self.absences[c]) * self.n + c
            qsort(&self.keys[0], count, sizeof(i64), _cmp_i64)
            for i in range(count):
                self.removed[i] = self.keys[i] % self.n
            return
        w = self.uniform() * 11.0
        if w <= 4.0:
            for i in range(count - 1, 0, -1):
                j = self.below(i + 1)
                tmp = self.removed[i]
                self.removed[i] = self.removed[j]
                self.removed[j] = tmp
            return
        # sort by (key, customer) through one int64 key = key * n + customer
        for i in range(count):
            c = self.removed[i]
            if w <= 8.0:
                tmp = self.demand[c] if self.demand[c] > self.pickup[c] else self.pickup[c]
            else:
                tmp = self.dist[0, c]
            if tmp > top:
                top = tmp
        for i in range(count):
            c = self.removed[i]
            if w <= 8.0:
                tmp = top - (self.demand[c] if self.demand[c] > self.pickup[c] else self.pickup[c])
            elif w <= 10.0:
                tmp = top - self.dist[0, c]
            else:
                tmp = self.dist[0, c]
            self.keys[i] = tmp * self.n + c
        qsort(&self.keys[0], count, sizeof(i64), _cmp_i64)
        for i in range(count):
            self.removed[i] = self.keys[i] % self.n

    cdef inline void around(self, _Solution s, Py_ssize_t r, Py_ssize_t before, Py_ssize_t after,
                            i64* out) noexcept:
        # the stops either side of a slot (index -1 or the length: the depot), see the twin: out = p, depart,
        # q, latest
        if before >= 0:
            out[0] = s.routes[r, before]
            out[1] = s.early[r, before] + self.service[out[0]]
        else:
            out[0] = 0
            out[1] = self.ready[0] + self.service[0]
        if after < s.length[r]:
            out[2] = s.routes[r, after]
            out[3] = s.late[r, after]
        else:
            out[2] = 0
            out[3] = self.due[0]

    cdef void best_position(self, _Solution s, Py_ssize_t r, i64 c, i64* best) noexcept:
        cdef i64 dc = self.demand[c], pc = self.pickup[c], cap = self.capacity
        # the depot departure and the return bound every position's peak load
        if s.load[r] + dc > cap or s.pick[r] + pc > cap or s.cash[r] + self.cod[c] > self.cod_capacity:
            return
        cdef Py_ssize_t m = s.length[r], pos
        cdef i64 p, q, depart, latest, delta, arrive
        cdef i64 slot[4]
        for pos in range(m + 1):
            if self.uniform() < self.blink_rate:
                continue
            self.around(s, r, pos - 1, pos, slot)
            p, depart, q, latest = slot[0], slot[1], slot[2], slot[3]
            delta = self.dist[p, c] + self.dist[c, q] - self.dist[p, q]
            if delta >= best[0]:
                continue
            # c's delivery rides from the depot to c, its pickup from c back: the stops before and after it
            if self.has_pickups and (s.pmax[r, pos] + dc > cap or s.smax[r, pos] + pc > cap):
                continue
            arrive = depart + self.tim[p, c]
            if arrive < self.ready[c]:
                arrive = self.ready[c]
            if arrive > self.due[c] or arrive + self.service[c] + self.tim[c, q] > latest:
                continue
            best[0] = delta
            best[1] = r
            best[2] = pos

    cdef void open_route(self, Py_ssize_t r, i64 c, i64* best) noexcept:
        cdef i64 delta = self.dist[0, c] + self.dist[c, 0] + self.fixed, arrive
        if (delta >= best[0] or self.demand[c] > self.capacity or self.pickup[c] > self.capacity
                or self.cod[c] > self.cod_capacity):
            return
        arrive = self.ready[0] + self.service[0] + self.tim[0, c]
        if arrive < self.ready[c]:
            arrive = self.ready[c]
        if arrive > self.due[c] or arrive + self.service[c] + self.tim[c, 0] > self.due[0]:
            return
        best[0] = delta
        best[1] = r
        best[2] = 0

    cdef void eject_insert(self, _Solution s, i64 c) noexcept:
        # c takes the place of a customer left out less often than c so far: see the twin's docstring
        cdef i64 limit = self.absences[c], best_abs = INF, best_delta = INF, a, e, p, q, depart, latest, delta
        cdef i64 arrive, cap = self.capacity
        cdef i64 slot[4]
        cdef Py_ssize_t r, k, m, best_r = -1, best_k = 0
        for r in range(self.n_routes):
            m = s.length[r]
            for k in range(m):
                e = s.routes[r, k]
                a = self.absences[e]
                if a >= limit or a > best_abs:
                    continue
                if (s.load[r] - self.demand[e] + self.demand[c] > cap
                        or s.cash[r] - self.cod[e] + self.cod[c] > self.cod_capacity):
                    continue
                # loads before e change by c's delivery less e's, loads after it by c's pickup less e's
                if self.has_pickups and (s.pmax[r, k] - self.demand[e] + self.demand[c] > cap
                                         or s.smax[r, k + 1] - self.pickup[e] + self.pickup[c] > cap):
                    continue
                self.around(s, r, k - 1, k + 1, slot)
                p, depart, q, latest = slot[0], slot[1], slot[2], slot[3]
                delta = self.dist[p, c] + self.dist[c, q] - self.dist[p, e] - self.dist[e, q]
                if a == best_abs and delta >= best_delta:
                    continue
                arrive = depart + self.tim[p, c]
                if arrive < self.ready[c]:
                    arrive = self.ready[c]
                if arrive > self.due[c] or arrive + self.service[c] + self.tim[c, q] > latest:
                    continue
                best_abs = a
                best_delta = delta
                best_r = r
                best_k = k
        if best_r < 0:
            return
        e = s.routes[best_r, best_k]
        s.routes[best_r, best_k] = c
        s.route_of[e] = -1
        self.touch(best_r)
        self.refresh(s, best_r)

    cdef void recreate(self, _Solution s) noexcept:
        cdef Py_ssize_t a, b, r, k, m
        cdef i64 c, mm
        cdef i64 best[3]
        cdef bint found
        self.sort_removed()
        for a in range(self.n_removed):
            c = self.removed[a]
            best[0] = INF
            best[1] = -1
            best[2] = 0
            self.seen_mark += 1
            found = False
            for b in range(self.n_neigh):
                mm = self.neigh[c, b]
                r = s.route_of[mm]
                if r >= 0 and self.seen[r] != self.seen_mark:
                    self.seen[r] = self.seen_mark
                    found = True
                    self.best_position(s, r, c, best)
            if not found:
                for r in range(self.n_routes):
                    if s.length[r]:
                        self.best_position(s, r, c, best)
            for r in range(self.n_routes):
                if not s.length[r]:
                    self.open_route(r, c, best)
                    break
            if best[1] < 0 and found:
                # the nearby routes are full (a tight fleet): any route with room beats leaving c out
                for r in range(self.n_routes):
                    if s.length[r] and self.seen[r] != self.seen_mark:
                        self.best_position(s, r, c, best)
            r = best[1]
            if r < 0:
                if self.short:
                    self.eject_insert(s, c)
                continue
            m = s.length[r]
            for k in range(m, best[2], -1):
                s.routes[r, k] = s.routes[r, k - 1]
            s.routes[r, best[2]] = c
            s.length[r] = m + 1
            s.routed += 1
            self.touch(r)
            self.refresh(s, r)
        self.n_removed = 0

    cdef i64 absent(self, _Solution s) noexcept:
        cdef i64 total = 0, c
        for c in range(1, self.n):
            if s.route_of[c] < 0:
                total += self.absences[c]
        return total

    cdef bint accept(self, _Solution current, _Solution candidate, i64 obj, i64 current_obj,
                     double temperature, double progress) noexcept:
        cdef i64 c
        if candidate.routed < self.n - 1:
            for c in range(1, self.n):
                if candidate.route_of[c] < 0:
                    self.absences[c] += 1
        if current.routed == self.n - 1 or progress >= self.fleet_min_share:
            return obj < current_obj - temperature * log(self.uniform())
        return candidate.routed > current.routed or self.absent(candidate) < self.absent(current)

    def run(self, _Solution current, double time_limit_s, i64 max_iterations):
        cdef Py_ssize_t n_routes = self.n_routes, r
        cdef _Solution candidate = _Solution(self.n, n_routes, self.has_pickups)
        cdef _Solution best = _Solution(self.n, n_routes, self.has_pickups)
        cdef i64 c, current_obj, best_obj, obj, iteration = 0
        cdef double avg_edge, t0, tf, elapsed = 0.0, progress, temperature
        self.n_removed = 0
        for c in range(1, self.n):
            if current.route_of[c] < 0:
                self.removed[self.n_removed] = c
                self.n_removed += 1
        self.recreate(current)
        for r in range(self.n_touched):
            self.touched_flag[self.touched[r]] = 0
        self.n_touched = 0
        candidate.copy_routes_from(current, &self.everyone[0], n_routes)
        best.copy_routes_from(current, &self.everyone[0], n_routes)
        current_obj = self.objective(current)
        best_obj = current_obj
        avg_edge = <double>current.total / <double>(current.routed + n_routes)
        if avg_edge < 1.0:
            avg_edge = 1.0
        t0 = self.t0_factor * avg_edge
        tf = self.tf_factor * avg_edge
        started = time.perf_counter()
        while True:
            if max_iterations > 0 and iteration >= max_iterations:
                break
            if time_limit_s > 0 and iteration % 64 == 0:
                elapsed = time.perf_counter() - started
                if elapsed >= time_limit_s:
                    break
            progress = 0.0
            if max_iterations > 0:
                progress = <double>iteration / <double>max_iterations
            if time_limit_s > 0 and elapsed / time_limit_s > progress:
                progress = elapsed / time_limit_s
            temperature = t0 * pow(tf / t0, progress)
            self.short = current.routed < self.n - 1
            self.ruin(candidate)
            self.recreate(candidate)
            obj = self.objective(candidate)
            if self.accept(current, candidate, obj, current_obj, temperature, progress):
                current.copy_routes_from(candidate, &self.touched[0], self.n_touched)
                current_obj = obj
                if obj < best_obj:
                    best.copy_routes_from(candidate, &self.everyone[0], n_routes)
                    best_obj = obj
            else:
                candidate.copy_routes_from(current, &self.touched[0], self.n_touched)
            for r in range(self.n_touched):
                self.touched_flag[self.touched[r]] = 0
            self.n_touched = 0
            iteration += 1
        return best, iteration


def _check_routes(routes, n: int, n_routes: int) -> None:
    """Initial routes index raw arrays: refuse anything but distinct customers 1..n-1 on at most n_routes."""
    customers = [int(c) for route in routes for c in route]
    if len(routes) > n_routes or len(set(customers)) != len(customers) or any(not 0 < c < n for c in customers):
        raise ValueError("initial routes must hold distinct customers 1..n-1, at most one route per vehicle")


def sisr(distance, duration, demand, cod, ready, due, service, capacity, cod_capacity, n_vehicles, fixed_cost,
         neighbours, initial_routes, params, seed, time_limit_s, max_iterations, pickup=None):
    cdef _Sisr engine = _Sisr(distance, duration, demand, cod, ready, due, service, capacity, cod_capacity,
                              n_vehicles, fixed_cost, neighbours, params, seed, pickup)
    cdef _Solution start = _Solution(engine.n, engine.n_routes, engine.has_pickups)
    cdef Py_ssize_t r, k
    _check_routes(initial_routes, engine.n, engine.n_routes)
    for r, route in enumerate(initial_routes):
        for k, c in enumerate(route):
            start.routes[r, k] = c
        start.length[r] = len(route)
        start.routed += len(route)
        engine.refresh(start, r)
    best, iterations = engine.run(start, float(time_limit_s), int(max_iterations))
    cdef _Solution b = best
    routes = [[int(b.routes[r, k]) for k in range(b.length[r])] for r in range(engine.n_routes) if b.length[r]]
    return routes, int(b.total), int(iterations)
