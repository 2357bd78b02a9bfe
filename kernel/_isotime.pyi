"""Interface of the compiled timestamp formatter (``kernel/_isotime.pyx``) and of its twin."""

def iso_ms(ts: float) -> str:
    """ts (seconds since the epoch) as ISO 8601 in UTC with milliseconds and a Z."""
