"""Parcels handed over in one act (a manifest scanned, a pickup completed): each gets its own ``accepted`` scan
through tracking's scan service, exactly as if scanned alone, and the answer says which were accepted and which
the scan rules refused."""

from __future__ import annotations

from typing import Any

from kernel.errors import BaridError
from kernel.postal.timeutil import iso_ms
from tracking.app_keys import Tracking
from tracking.scans import parse_scan, problem_of
from tracking.staff import Staff


async def accept_all(t: Tracking, staff: Staff, tracking_numbers: list[str], scan_prefix: str, now: float
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(accepted, missing) for ``accepted`` scans of these parcels at ``staff``'s office at ``now``; each scan id
    is ``scan_prefix:tracking number``, so the same act repeated answers duplicates, never new events."""
    scans, accepted, missing = [], [], []
    for tn in tracking_numbers:
        scan = parse_scan({"tracking_number": tn, "event": "accepted", "office": staff.office,
                           "occurred_at": iso_ms(now), "scan_id": f"{scan_prefix}:{tn}"}, t.offices, t.config, now)
        if isinstance(scan, list):  # the scan rules refuse it as they would a scan alone
            missing.append({"tracking_number": tn, "code": scan[0].code, "detail": scan[0].message,
                            "detail_fa": scan[0].message_fa})
        else:
            scans.append(scan)
    results = await t.scans.record(staff, scans) if scans else []
    for scan, result in zip(scans, results):
        if isinstance(result, BaridError):
            missing.append({"tracking_number": scan.tracking_number, **problem_of(result)})
        else:
            accepted.append({"tracking_number": scan.tracking_number, **result})
    return accepted, missing
