"""Pure-Python twin of ``kernel/_resp.pyx``: hiredis's own packer, the reference the compiled one matches."""

from __future__ import annotations

import hiredis


def pack_commands(commands: list[tuple]) -> bytes:
    """The RESP encoding of the commands, back to back (arguments: str, bytes, int or float; else TypeError)."""
    return b"".join(map(hiredis.pack_command, commands))
