"""One JSON line per request on stderr, written in batches.

Formatting a line costs a microsecond; pushing each through ``logging`` and its own write costs twenty. Lines
are buffered and written together at most every 50 ms, and on shutdown.
"""

from __future__ import annotations

import asyncio
import sys

FLUSH_DELAY_S = 0.05
MAX_BUFFERED = 512


class AccessLog:
    def __init__(self) -> None:
        self._lines: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def write(self, line: bytes) -> None:
        self._lines.append(line)
        if len(self._lines) >= MAX_BUFFERED:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_DELAY_S, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            data, self._lines = b"\n".join(self._lines) + b"\n", []
            stream = sys.stderr  # looked up each time: tests and supervisors may redirect it
            stream.buffer.write(data) if hasattr(stream, "buffer") else stream.write(data.decode())
            stream.flush()
