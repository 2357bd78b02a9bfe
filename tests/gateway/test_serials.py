"""Serial blocks: reserved in the store, handed out without a round trip, never twice."""

from __future__ import annotations

from kernel.store.serials import SerialAllocator


async def test_serials_from_one_block_then_the_next_never_repeat(redis):
    first = SerialAllocator(redis, "ZZ", block=3)
    other = SerialAllocator(redis, "ZZ", block=3)  # another process on the same counter
    assert first.take_reserved() is None  # nothing reserved yet: the caller must go to the store
    got = await first.take(2)
    got.append(first.take_reserved())
    assert first.take_reserved() is None  # the block of 3 is used up
    got += await other.take(1) + await first.take(2)
    assert len(got) == len(set(got)) == 6
    assert got[:3] == [got[0], got[0] + 1, got[0] + 2]
