"""The parcel hash's history fields read back as a history."""

from __future__ import annotations

from gateway.booking import parcel_history


def test_history_is_ordered_by_occurrence_then_by_sequence_number():
    parcel = {
        b"doc": b"{}", b"seq": b"11", b"scan:a": b"evt_X_3|accepted|2000",
        b"h:1000:1": b"booked", b"h:2000:3": b"accepted", b"h:1500:2": b"late",
        b"h:3000:10": b"tenth", b"h:3000:9": b"ninth", b"h:999:11": b"sent-from-a-fast-clock",
    }
    assert parcel_history(parcel) == [b"sent-from-a-fast-clock", b"booked", b"late", b"accepted", b"ninth", b"tenth"]
