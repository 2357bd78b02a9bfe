"""The ledger lag the load kit samples: entries unread or pending for the group, and the oldest one's age, on the
real store."""

from __future__ import annotations

import time

import pytest
import redis

from kernel.store import keys
from loadtests.ledger_lag import measure, wait_drained


@pytest.fixture
def group(store_url: str):
    r = redis.Redis.from_url(store_url)
    name = f"lag-test-{time.time_ns()}"
    for p in range(keys.PARTITIONS):
        r.xgroup_create(keys.partition_events(p), name, "$", mkstream=True)
    yield r, name
    for p in range(keys.PARTITIONS):
        r.xgroup_destroy(keys.partition_events(p), name)
    r.close()


def test_lag_counts_unread_and_pending_entries_and_ages_the_oldest(group) -> None:
    r, name = group
    assert measure(r, name).waiting == 0 and measure(r, name).groups == keys.PARTITIONS
    first, second = keys.partition_events(3), keys.partition_events(40)
    r.xadd(first, {"s": "1", "t": "EP1", "e": "{}"})
    time.sleep(0.4)
    r.xadd(second, {"s": "2", "t": "EP2", "e": "{}"})
    r.xadd(second, {"s": "2", "t": "EP3", "e": "{}"})
    lag = measure(r, name)
    assert lag.waiting == 3 and 0.4 <= lag.age_s < 5
    # read but not acknowledged (a worker killed mid-batch): still waiting, still as old
    ((_, entries),) = r.xreadgroup(name, "dead-worker", {first: ">"})
    lag = measure(r, name)
    assert lag.waiting == 3 and lag.age_s >= 0.4
    r.xack(first, name, entries[0][0])
    lag = measure(r, name)
    assert lag.waiting == 2 and lag.age_s < 0.4
    waited, left = wait_drained(r, 0.5, name)
    assert left.waiting == 2 and waited >= 0.5  # the timeout ends the wait; the caller fails the check
    for stream_id, _ in r.xreadgroup(name, "live-worker", {second: ">"})[0][1]:
        r.xack(second, name, stream_id)
    assert wait_drained(r, 5, name)[1].waiting == 0
