"""Realistic, seeded office days for tests, benchmarks and ``python -m routing plan`` without real parcels.

Parcels go to buildings on a street grid around the office (Tehran-like density: blocks of about 90 m, busier
main streets, several parcels for the same building), with weights, COD amounts, postal codes under the
office's prefixes, and a time window on 20% of them. Same (office, day, count, seed) → same parcels.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date

import numpy as np

from kernel.postal.offices import Office, load_registry
from kernel.postal.text import fa_digits

from .errors import InvalidParcel

MIN_PARCELS, MAX_PARCELS = 100, 3000
BLOCK_M = 90.0  # street spacing
METRES_PER_DEG_LAT = 111_320.0
TIME_WINDOW_SHARE = 0.2
COD_SHARE = 0.3
WINDOW_STARTS_H = (9, 10, 11, 12, 13, 14)  # two-hour windows, within an 08:00–16:00 shift
POSTAL_TAIL_DIGITS = "013456789"  # digits 6–10 of an Iranian postal code never use 2
STREETS = ("ولیعصر", "انقلاب", "آزادی", "کریمخان", "فاطمی", "طالقانی", "مطهری", "بهار", "شریعتی", "جمهوری",
           "حافظ", "فلسطین", "سعدی", "نواب", "کارگر", "وصال", "قدس", "ایرانشهر", "بهشتی", "گاندی")
NAMES = ("علی رضایی", "زهرا کاظمی", "محمد حسینی", "فاطمه احمدی", "حسین موسوی", "مریم کریمی", "رضا محمدی",
         "سارا جعفری", "مهدی صادقی", "نرگس رحیمی")


def _seed_for(office: str, day: date, count: int, seed: int) -> int:
    digest = hashlib.sha256(f"{office}|{day.isoformat()}|{count}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def area_radius_m(n_parcels: int) -> float:
    """Bigger days cover a wider area; about 1.2 km for 100 parcels up to 3 km for 3,000."""
    return 1200.0 + 1800.0 * math.sqrt((n_parcels - MIN_PARCELS) / (MAX_PARCELS - MIN_PARCELS))


def offset_point(office: Office, east_m: float, north_m: float) -> tuple[float, float]:
    lat = office.lat + north_m / METRES_PER_DEG_LAT
    lon = office.lon + east_m / (METRES_PER_DEG_LAT * math.cos(math.radians(office.lat)))
    return round(lat, 6), round(lon, 6)


def _postal_code(office: Office, rng: np.random.Generator) -> str:
    prefix = office.prefixes[int(rng.integers(len(office.prefixes)))]
    tail = "".join(POSTAL_TAIL_DIGITS[int(d)] for d in rng.integers(0, len(POSTAL_TAIL_DIGITS), 5))
    return prefix + tail


def generate_day(office_code: str, day: date, n_parcels: int = 300, seed: int = 0) -> list[dict]:
    """Booked parcels for one office day, in the gateway's parcel shape."""
    if not MIN_PARCELS <= n_parcels <= MAX_PARCELS:
        raise InvalidParcel(f"a demo day has {MIN_PARCELS} to {MAX_PARCELS} parcels, not {n_parcels}")
    office = load_registry().get(office_code)
    rng = np.random.default_rng(_seed_for(office.code, day, n_parcels, seed))
    radius = area_radius_m(n_parcels)
    n_buildings = int(n_parcels * 0.8)  # about one parcel in five shares its building with another
    buildings = []
    for _ in range(n_buildings):
        # density falls off from the centre; addresses sit on the street grid (one coordinate snapped)
        r = radius * math.sqrt(rng.uniform()) ** 1.3
        angle = rng.uniform(0, 2 * math.pi)
        east, north = r * math.cos(angle), r * math.sin(angle)
        if rng.uniform() < 0.5:
            east = round(east / BLOCK_M) * BLOCK_M
        else:
            north = round(north / BLOCK_M) * BLOCK_M
        street = STREETS[int(abs(north if rng.uniform() < 0.5 else east) // BLOCK_M) % len(STREETS)]
        address = f"{office.city}، خیابان {street}، کوچه {int(rng.integers(1, 30))}، پلاک {int(rng.integers(1, 120))}"
        buildings.append((offset_point(office, east, north), _postal_code(office, rng),
                          fa_digits(address)))
    # busy buildings (offices, shops) get more parcels
    popularity = rng.pareto(2.5, n_buildings) + 1.0
    popularity /= popularity.sum()
    chosen = rng.choice(n_buildings, size=n_parcels, p=popularity)
    parcels = []
    for i, b in enumerate(chosen):
        (lat, lon), postal_code, address = buildings[b]
        weight_g = int(min(30_000, max(50, rng.lognormal(math.log(900), 0.9))))
        parcel = {
            "tracking_number": f"DM{_seed_for(office.code, day, n_parcels, seed) % 10**4:04d}{i:05d}IR",
            "weight_g": weight_g,
            "receiver": {  # who lives at a building follows from the building, so the draws above stay as they were
                "name": NAMES[int(b) % len(NAMES)],
                "phone": f"0912{int(b) * 7919 % 10**7:07d}",
                "city": office.city,
                "postal_code": postal_code,
                "address": address,
                "location": {"lat": lat, "lon": lon},
            },
            "payment": {"type": "prepaid"},
        }
        if rng.uniform() < COD_SHARE:
            parcel["payment"] = {"type": "cod", "goods_value": int(rng.lognormal(math.log(6e6), 0.8)) // 1000 * 1000}
        if rng.uniform() < TIME_WINDOW_SHARE:
            start = WINDOW_STARTS_H[int(rng.integers(len(WINDOW_STARTS_H)))]
            parcel["time_window"] = [f"{start:02d}:00", f"{start + 2:02d}:00"]
        parcels.append(parcel)
    return parcels
