"""Quiet logs for what the internet sends: malformed HTTP is one line, rate-limited, not a traceback.

aiohttp answers a request it cannot parse (bare CR or LF, NUL, obs-fold, a duplicate Content-Length...) with 400,
which is right, and logs it at ERROR with the parser's traceback. Any client can send those at will, so each
would cost an operator a screen of noise and could flood the log. ``MalformedRequestFilter``, on aiohttp's server
logger, turns each into one WARNING line and keeps at most ``limit`` of them per ``window_s``; past that it says
once that it is counting, and the first line of the next window says how many went unlogged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"
LIMIT = 10
WINDOW_S = 60.0
_DETAIL_MAX = 200


class MalformedRequestFilter(logging.Filter):
    def __init__(self, limit: int = LIMIT, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._lock = threading.Lock()  # several apps (tests) may share the process's logger
        self._window_start = float("-inf")
        self._seen = 0  # malformed requests in this window
        self._unlogged = 0  # of those, not logged

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        with self._lock:
            now = self.clock()
            carried = 0
            if now - self._window_start >= self.window_s:
                carried, self._window_start, self._seen, self._unlogged = self._unlogged, now, 0, 0
            self._seen += 1
            if self._seen > self.limit + 1:
                self._unlogged += 1
                return False
        lines = [line.strip() for line in (exc.message or "").splitlines() if line.strip()]
        detail = (lines[0] if lines else type(exc).__name__)[:_DETAIL_MAX]
        msg = f"malformed HTTP request ({record.getMessage().removeprefix('Error handling request ')}) answered " \
              f"{exc.code}: {detail!r}"
        if self._seen == self.limit + 1:
            msg = f"{self.limit} malformed HTTP requests in {self.window_s:g} s; the rest of this window's are " \
                  "counted, not logged"
            self._unlogged += 1
        if carried:
            msg += f" ({carried} more in the previous window were not logged)"
        record.msg, record.args = msg, None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        if record.levelno > logging.WARNING:  # the client's fault, not the server's
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def install(logger_name: str = SERVER_LOGGER) -> MalformedRequestFilter:
    """Put the filter on aiohttp's server logger once per process (create_app calls it; calling again is free)."""
    logger = logging.getLogger(logger_name)
    for existing in logger.filters:
        if isinstance(existing, MalformedRequestFilter):
            return existing
    installed = MalformedRequestFilter()
    logger.addFilter(installed)
    return installed
