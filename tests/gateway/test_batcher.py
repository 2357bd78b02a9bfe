"""The micro-batcher against the real store: replies reach the right callers, early flushes, timeouts and lost
connections."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis as sync_redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import ResponseError

from kernel.store.batcher import Batcher, Script


@pytest.fixture
async def batcher(redis: aioredis.Redis, store_url: str):
    b = Batcher(redis, store_url)
    yield b
    b.close()


def _key() -> str:
    return f"test:batcher:{uuid.uuid4().hex}"


async def test_each_caller_gets_its_own_replies(batcher: Batcher):
    k = _key()
    replies = await asyncio.gather(*(batcher.command("INCRBY", k, n) for n in range(1, 6)),
                                   batcher.many([("SET", k + ":a", "x"), ("GET", k + ":a"), ("HGET", k, "f")]))
    assert replies[:5] == [1, 3, 6, 10, 15]  # applied in the order they were asked for
    ok, value, wrong_type = replies[5]
    assert (ok, value) == (b"OK", b"x")
    assert isinstance(wrong_type, ResponseError)  # errors come back as values, in their place


async def test_flush_sends_before_the_loop_turn_ends(batcher: Batcher, store_url: str):
    """An upload's scripts reach the store while this request still holds the loop (validating the next)."""
    await batcher.command("PING")  # connected
    k = _key()
    reply = batcher.command("SET", k, "now")
    batcher.flush()
    observer = sync_redis.Redis.from_url(store_url)
    try:
        deadline = time.monotonic() + 2
        seen = observer.get(k)
        while seen is None and time.monotonic() < deadline:  # blocking: this loop does not get to run
            time.sleep(0.01)
            seen = observer.get(k)
    finally:
        observer.close()
    assert seen == b"now"
    assert await reply == b"OK"


async def test_without_flush_the_batch_waits_for_the_loop(batcher: Batcher, store_url: str):
    await batcher.command("PING")
    k = _key()
    reply = batcher.command("SET", k, "later")
    observer = sync_redis.Redis.from_url(store_url)
    try:
        time.sleep(0.2)
        assert observer.get(k) is None  # still queued: it goes out with everything else asked this turn
    finally:
        observer.close()
    assert await reply == b"OK"


async def test_a_full_batch_goes_out_without_waiting_for_the_loop(batcher: Batcher, store_url: str):
    """Under load the store works on the first requests' writes while the loop is still busy with the rest."""
    await batcher.command("PING")
    k = _key()
    replies = [batcher.command("SET", f"{k}:{i}", i) for i in range(batcher.flush_at - 1)]
    observer = sync_redis.Redis.from_url(store_url)
    try:
        time.sleep(0.2)
        assert observer.get(f"{k}:0") is None  # one short of a full batch: it waits for the end of the turn
        replies.append(batcher.command("SET", f"{k}:last", "x"))
        deadline = time.monotonic() + 2
        seen = observer.mget(f"{k}:0", f"{k}:last")
        while seen != [b"0", b"x"] and time.monotonic() < deadline:  # blocking: this loop does not get to run
            time.sleep(0.01)
            seen = observer.mget(f"{k}:0", f"{k}:last")
    finally:
        observer.close()
    assert seen == [b"0", b"x"]
    assert await asyncio.gather(*replies) == [b"OK"] * batcher.flush_at


async def test_scripts_are_loaded_again_after_the_store_forgot_them(batcher: Batcher, redis: aioredis.Redis):
    script = Script("return 'v' .. ARGV[1]")
    assert await batcher.evalsha(script, [], [1]) == b"v1"
    await redis.script_flush()
    # In one flush: a script alone, a plain command, and a script followed by plain commands in one call.
    assert await asyncio.gather(batcher.evalsha(script, [], [2]), batcher.command("PING"),
                                batcher.group(script, [], [3], [("ECHO", "a"), ("ECHO", "b")])) == [
        b"v2", b"PONG", [b"v3", b"a", b"b"]]


async def test_a_batch_that_times_out_leaves_later_replies_in_order(redis: aioredis.Redis, store_url: str):
    b = Batcher(redis, store_url, timeout_s=0.1)
    try:
        await b.command("PING")
        # A script that holds the store for a good fraction of a second (time is frozen inside scripts, so it
        # counts instead of watching the clock).
        slow = b.command("EVAL", "local n = 0; for i = 1, 50000000 do n = n + 1 end; return 'slow'", 0)
        with pytest.raises(asyncio.TimeoutError):
            await slow
        b.timeout_s = 30
        k = _key()
        # Sent while the script still runs: its late reply comes first on the connection and is not theirs.
        assert await asyncio.gather(b.command("SET", k, "1"), b.command("GET", k)) == [b"OK", b"1"]
    finally:
        b.close()


async def test_callers_learn_of_a_lost_connection_and_the_next_call_reconnects(batcher: Batcher,
                                                                                  redis: aioredis.Redis):
    await batcher.command("CLIENT", "SETNAME", "batcher-under-test")
    clients = await redis.client_list()
    victim = next(c for c in clients if c.get("name") == "batcher-under-test")
    blocked = batcher.command("BLPOP", _key(), 5)  # in flight when the connection dies
    await asyncio.sleep(0.05)
    await redis.client_kill_filter(_id=victim["id"])
    with pytest.raises(StoreConnectionError):
        await blocked
    assert await batcher.command("PING") == b"PONG"


async def test_a_command_that_cannot_be_sent_fails_alone_and_the_connection_stays_in_step(batcher: Batcher):
    await batcher.command("PING")
    with pytest.raises(TypeError):
        await asyncio.wait_for(batcher.command("SET", _key(), None), 5)  # a programming error: None
    k = _key()
    replies = asyncio.gather(batcher.command("SET", k, "1"), batcher.command("GET", k))
    assert await asyncio.wait_for(replies, 5) == [b"OK", b"1"]
