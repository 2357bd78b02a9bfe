"""Interface of the compiled RESP packer (``kernel/_resp.pyx``) and of its twin ``kernel/_resp_py.py``."""

def pack_commands(commands: list[tuple]) -> bytes:
    """The RESP encoding of the commands, back to back (str, bytes, int or float arguments; else TypeError)."""
