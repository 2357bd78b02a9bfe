"""Locust users that behave like Barid's real users.

* ShopUser: quotes, single bookings (with Idempotency-Key; some repeated as a client that lost the answer),
  batch bookings, reading and listing its parcels, cancelling a few.
* StaffUser: scans parcels through their real lifecycle at the offices on their route, one at a time or as an
  offline device's batch; failed attempts, returns, COD collection. A failed request is retried later with the
  same scan_id (idempotent).
* BuyerUser: the public tracking API and the Persian tracking page.

Parcels a ShopUser books are handed to the StaffUsers of the same process (each Locust process is its own
little post office), plus a share of the seeded pool. Every acknowledged booking, scan and cancellation is
appended to ``$BARID_LT_ACKS/<pid>.jsonl`` for the consistency check. Storefronts (webhook receivers) are
``loadtests.receiver``, run by the runner.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections import deque
from pathlib import Path

import orjson
from locust import FastHttpUser, constant_throughput, events, task

from kernel.postal.offices import load_registry
from kernel.postal.s10 import check_digit
from loadtests.bodies import Parcel, parcel_of, quote, shipment
from loadtests.config import LoadConfig

CONFIG = LoadConfig.from_env()
SEED = orjson.loads(Path(os.environ["BARID_LT_SEED"]).read_bytes()) if os.environ.get("BARID_LT_SEED") else None
REGISTRY = load_registry()
JSON = {"Content-Type": "application/json"}
TRANSIENT = (0, 500, 502, 503, 504)  # no answer or the gateway could not reach the store: retry later

# Process-local state: parcels waiting at each office, recent tracking numbers for buyers.
WAITING: dict[str, deque[Parcel]] = {code: deque() for code in REGISTRY.offices}
RECENT: deque[str] = deque(maxlen=20_000)


class Acks:
    """Buffered append-only log of what the system acknowledged, one file per process (safe after fork)."""

    def __init__(self) -> None:
        self.pid = 0
        self.buf: list[bytes] = []

    def add(self, **rec: object) -> None:
        self.buf.append(orjson.dumps(rec))
        if len(self.buf) >= 500:
            self.flush()

    def flush(self) -> None:
        if not self.buf or not os.environ.get("BARID_LT_ACKS"):
            self.buf.clear()
            return
        with open(Path(os.environ["BARID_LT_ACKS"]) / f"{os.getpid()}.jsonl", "ab") as f:
            f.write(b"\n".join(self.buf) + b"\n")
        self.buf.clear()


ACKS = Acks()


def hand_to_staff(parcel: Parcel) -> None:
    if parcel.done < len(parcel.steps):
        WAITING[parcel.office].append(parcel)


@events.test_start.add_listener
def _take_pool(environment, **_: object) -> None:
    """This process' share of the seeded parcels (each parcel is scanned by one process only)."""
    if SEED is None or environment.runner is None or type(environment.runner).__name__ == "MasterRunner":
        return
    index, count = max(0, environment.runner.worker_index), max(1, CONFIG.processes)
    rng = random.Random(index)
    for item in SEED["pool"][index::count]:
        parcel = parcel_of(rng, REGISTRY, item["doc"], item["shop"], item["origin"])
        hand_to_staff(parcel)
        RECENT.append(parcel.tn)


@events.test_stop.add_listener
def _flush(**_: object) -> None:
    ACKS.flush()


@events.quitting.add_listener
def _flush_on_quit(**_: object) -> None:
    ACKS.flush()


class ShopUser(FastHttpUser):
    weight = CONFIG.shop_weight
    wait_time = constant_throughput(CONFIG.per_user_rate)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.shop = self.rng.choice(SEED["shops"])
        self.auth = {**JSON, "Authorization": f"Bearer {self.shop['key']}"}
        self.mine: deque[str] = deque(maxlen=200)
        self.cancellable: deque[str] = deque(maxlen=50)

    def _booked(self, doc: dict, keep_for_cancel: bool = False) -> None:
        tn = doc["tracking_number"]
        ACKS.add(k="book", tn=tn, shop=self.shop["id"])
        self.mine.append(tn)
        RECENT.append(tn)
        if keep_for_cancel:
            self.cancellable.append(tn)
        else:
            hand_to_staff(parcel_of(self.rng, REGISTRY, doc, self.shop["id"], self.shop["origin"]))

    @task(25)
    def get_quote(self) -> None:
        self.client.post("/v1/quotes", data=orjson.dumps(quote(self.rng, REGISTRY)), headers=self.auth)

    @task(35)
    def book(self) -> None:
        body = orjson.dumps(shipment(self.rng, REGISTRY, f"LT-{uuid.uuid4().hex[:12]}"))
        headers = {**self.auth, "Idempotency-Key": uuid.uuid4().hex}
        # A client that lost the answer sends the very same request again: 10 % do, and one that got no answer
        # (or a 5xx) retries up to three times. Every try must yield the same tracking number.
        tries = 2 if self.rng.random() < 0.1 else 1
        first_tn = None
        attempt = 0
        while tries and attempt < 4:
            attempt += 1
            with self.client.post("/v1/shipments", data=body, headers=headers, catch_response=True,
                                  name="/v1/shipments" if attempt == 1 else "/v1/shipments (retry)") as resp:
                if resp.status_code in TRANSIENT:
                    time.sleep(0.2)
                    continue
                if resp.status_code != 201:
                    return
                doc = resp.json()
                if first_tn is None:
                    first_tn = doc["tracking_number"]
                    self._booked(doc, keep_for_cancel=self.rng.random() < 0.05)
                elif doc["tracking_number"] != first_tn:
                    resp.failure("idempotent retry booked a second parcel")
                tries -= 1

    @task(8)
    def book_batch(self) -> None:
        items = [shipment(self.rng, REGISTRY, f"LTB-{uuid.uuid4().hex[:12]}") for _ in range(self.rng.randint(5, 20))]
        headers = {**self.auth, "Idempotency-Key": uuid.uuid4().hex}
        body = orjson.dumps({"shipments": items})
        for attempt in range(4):
            with self.client.post("/v1/shipments/batch", data=body, headers=headers, catch_response=True,
                                  name="/v1/shipments/batch" if not attempt else "/v1/shipments/batch (retry)") as resp:
                if resp.status_code in TRANSIENT:
                    time.sleep(0.2)
                    continue
                if resp.status_code == 200:
                    data = resp.json()
                    for r in data["results"]:
                        if r["result"] == "booked":
                            self._booked(r["shipment"])
                    if data["rejected"]:
                        resp.failure(f"{data['rejected']} batch items rejected")
                return

    @task(17)
    def read_one(self) -> None:
        if self.mine:
            self.client.get(f"/v1/shipments/{self.rng.choice(self.mine)}", headers=self.auth,
                            name="/v1/shipments/[tn]")

    @task(10)
    def list_mine(self) -> None:
        status = self.rng.choice(("", "", "pre_transit", "in_transit", "delivered"))
        self.client.get(f"/v1/shipments?limit=20{'&status=' + status if status else ''}", headers=self.auth,
                        name="/v1/shipments?status=")

    @task(5)
    def cancel(self) -> None:
        if not self.cancellable:
            return
        tn = self.cancellable.popleft()
        with self.client.post(f"/v1/shipments/{tn}/cancel", headers={**self.auth, "Idempotency-Key": f"c-{tn}"},
                              name="/v1/shipments/[tn]/cancel", catch_response=True) as resp:
            if resp.status_code == 200:
                ACKS.add(k="cancel", tn=tn)
            elif resp.status_code in TRANSIENT:
                self.cancellable.append(tn)


class StaffUser(FastHttpUser):
    weight = CONFIG.staff_weight
    wait_time = constant_throughput(CONFIG.per_user_rate)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.tokens = {code: {**JSON, "Authorization": f"Bearer {tok}"} for code, tok in SEED["staff"].items()}

    def _office(self, busiest: bool) -> str | None:
        codes = [c for c, q in WAITING.items() if q]
        if not codes:
            return None
        if busiest:
            return max(codes, key=lambda c: len(WAITING[c]))
        return self.rng.choices(codes, weights=[len(WAITING[c]) for c in codes])[0]

    def _acked(self, parcel: Parcel, scan: dict, result: dict) -> None:
        ACKS.add(k="scan", tn=parcel.tn, sid=scan["scan_id"], eid=result["event_id"], ev=scan["event"])

    @task(9)
    def scan_one(self) -> None:
        office = self._office(busiest=False)
        if office is None:
            return
        parcel = WAITING[office].popleft()
        scan = parcel.scan(parcel.done, int(time.time() * 1000))
        with self.client.post("/v1/scans", data=orjson.dumps(scan), headers=self.tokens[office],
                              catch_response=True, name=f"/v1/scans [{scan['event']}]") as resp:
            if resp.status_code in (200, 201):
                self._acked(parcel, scan, resp.json())
                parcel.acked(parcel.done)
            elif resp.status_code not in TRANSIENT:
                return  # a rejected scan is a failure in the stats; the parcel leaves the floor
        hand_to_staff(parcel)

    @task(1)
    def scan_offline_batch(self) -> None:
        """A device that was offline uploads everything it scanned at one office, in any order."""
        office = self._office(busiest=True)
        if office is None:
            return
        queue = WAITING[office]
        parcels = [queue.popleft() for _ in range(min(len(queue), self.rng.randint(5, 30)))]
        now = int(time.time() * 1000)
        plan: list[tuple[Parcel, int, dict]] = []
        for p in parcels:
            at = now - self.rng.randint(1_000, 120_000)
            i = p.done
            while i < len(p.steps) and p.steps[i]["office"] == office:
                plan.append((p, i, p.scan(i, at)))
                at += self.rng.randint(1_000, 10_000)
                i += 1
        scans = [s for _, _, s in plan]
        self.rng.shuffle(scans)
        with self.client.post("/v1/scans/batch", data=orjson.dumps({"scans": scans}), headers=self.tokens[office],
                              catch_response=True) as resp:
            if resp.status_code == 200:
                by_id = {r["scan_id"]: r for r in resp.json()["results"]}
                rejected = []
                for p, i, s in plan:
                    r = by_id[s["scan_id"]]
                    if r["ok"]:
                        self._acked(p, s, r)
                        p.acked(i)
                    else:
                        rejected.append(p)
                for p in rejected:  # a failure in the stats; the parcel leaves the floor
                    p.done = len(p.steps)
                bad = len(rejected)
                if bad:
                    resp.failure(f"{bad} batch scans rejected")
        for p in parcels:
            hand_to_staff(p)


class BuyerUser(FastHttpUser):
    weight = CONFIG.buyer_weight
    wait_time = constant_throughput(CONFIG.per_user_rate)

    def on_start(self) -> None:
        self.rng = random.Random()

    @task(6)
    def track_json(self) -> None:
        if RECENT:
            self.client.get(f"/v1/track/{self.rng.choice(RECENT)}", name="/v1/track/[tn]")

    @task(3)
    def track_page(self) -> None:
        if RECENT:
            self.client.get(f"/track/{self.rng.choice(RECENT)}", name="/track/[tn]")

    @task(1)
    def track_unknown(self) -> None:
        """A mistyped tracking number: 404 is the right answer."""
        serial = self.rng.randrange(90_000_000, 99_999_999)
        tn = f"RR{serial:08d}{check_digit(serial)}IR"
        with self.client.get(f"/v1/track/{tn}", name="/v1/track/[unknown]", catch_response=True) as resp:
            if resp.status_code == 404:
                resp.success()
