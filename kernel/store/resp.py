"""A lean pipelined connection to a Redis-protocol server, for the hot paths' batches.

redis-py's asyncio connection awaits each reply through a stream reader with its own timeout context; at
thousands of bookings a second that machinery cost more CPU than the bookings' own logic. Here one
``asyncio.Protocol`` feeds whatever arrives into a hiredis reader and hands the replies, in order, to the batch
that is waiting for them: the protocol guarantees replies come back in the order commands were written, so a
batch that gave up waiting still takes its replies off the stream and the next batch gets its own.
"""

from __future__ import annotations

import asyncio
from collections import deque

import hiredis
from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import NoScriptError, ResponseError

from kernel.fast import pack_commands


def as_error(reply: Exception) -> ResponseError:
    """hiredis hands error replies over as plain exceptions; give them redis-py's classes."""
    text = str(reply)
    return NoScriptError(text) if text.startswith("NOSCRIPT") else ResponseError(text)


class _Batch:
    __slots__ = ("expected", "replies", "future")

    def __init__(self, expected: int, future: asyncio.Future) -> None:
        self.expected = expected
        self.replies: list = []
        self.future = future


class _RespProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader(replyError=Exception)
        self.waiters: deque[_Batch] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        gets, waiters = self.reader.gets, self.waiters
        while True:
            reply = gets()
            if reply is False:
                return
            batch = waiters[0]
            batch.replies.append(as_error(reply) if isinstance(reply, Exception) else reply)
            if len(batch.replies) == batch.expected:
                waiters.popleft()
                if not batch.future.done():
                    batch.future.set_result(batch.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = StoreConnectionError(f"store connection lost: {exc or 'closed'}")
        while self.waiters:
            batch = self.waiters.popleft()
            if not batch.future.done():
                batch.future.set_exception(error)


class RespConnection:
    """One pipelined connection; ``send`` writes packed commands and returns the future of all their replies
    (error replies as ResponseError values)."""

    def __init__(self, url: str, connect_timeout_s: float = 5.0) -> None:
        self.params = parse_url(url)
        self.connect_timeout_s = connect_timeout_s
        self._protocol: _RespProtocol | None = None
        self._connecting: asyncio.Future | None = None

    async def _connect(self) -> _RespProtocol:
        try:
            return await self._open()
        except OSError as exc:
            raise StoreConnectionError(f"cannot reach the store: {exc}") from exc

    async def _open(self) -> _RespProtocol:
        loop = asyncio.get_running_loop()
        p = self.params
        async with asyncio.timeout(self.connect_timeout_s):
            if "path" in p:
                _, protocol = await loop.create_unix_connection(_RespProtocol, p["path"])
            else:
                _, protocol = await loop.create_connection(_RespProtocol, p.get("host", "localhost"),
                                                           p.get("port", 6379))
            setup = []
            if p.get("password"):
                setup.append(("AUTH", p["username"], p["password"]) if p.get("username") else ("AUTH", p["password"]))
            if p.get("db"):
                setup.append(("SELECT", p["db"]))
            if setup:
                for reply in await self._write(protocol, setup):
                    if isinstance(reply, ResponseError):
                        protocol.transport.close()
                        raise reply
        return protocol

    async def protocol(self) -> _RespProtocol:
        if self._protocol is not None and not self._protocol.closed:
            return self._protocol
        if self._connecting is None:  # one connect, however many callers are waiting for it
            self._connecting = asyncio.ensure_future(self._connect())
        try:
            self._protocol = await asyncio.shield(self._connecting)
        finally:
            self._connecting = None
        return self._protocol

    @staticmethod
    def _write(protocol: _RespProtocol, commands: list[tuple]) -> asyncio.Future:
        # Packed before the batch waits for replies: an argument that cannot be packed must not leave a waiter
        # behind that would take the next batch's replies.
        payload = pack_commands(commands)
        future = asyncio.get_running_loop().create_future()
        protocol.waiters.append(_Batch(len(commands), future))
        protocol.transport.write(payload)
        return future

    def write_now(self, commands: list[tuple]) -> asyncio.Future | None:
        """Write at once, without yielding to the loop, and return the future of the replies; None when not
        connected (the first call, or after the connection was lost: use ``send``)."""
        protocol = self._protocol
        if protocol is None or protocol.closed:
            return None
        return self._write(protocol, commands)

    async def send(self, commands: list[tuple]) -> asyncio.Future:
        return self._write(await self.protocol(), commands)

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
