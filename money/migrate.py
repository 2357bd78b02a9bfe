"""Versioned SQL migrations: ``money/migrations/NNNN_name.sql``, applied in order, each once.

A small runner rather than a migrations library: the ones made for asyncpg are unmaintained, and the maintained
ones (alembic, yoyo) drive a synchronous DB-API driver the project would carry only for this. What it must do is
short: ``schema_migrations`` records each applied version with the file's SHA-256 (an edited, already applied
file is refused rather than silently diverging), and a transaction-scoped advisory lock makes any number of
workers starting at once apply each migration exactly once (the others wait, then find nothing left to do).
Each migration runs in its own transaction with its record, so a failing one leaves nothing half applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_KEY = 0x6261726964  # "barid": the advisory lock every migrating process takes
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(m[1]), m[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must run 1..n without gaps, found {versions}")
    return found


SETUP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    int PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


async def migrate(conn: asyncpg.Connection, target: int | None = None,
                  directory: Path = MIGRATIONS_DIR) -> dict:
    """Apply every migration up to ``target`` (all by default) that is not applied yet; what was done."""
    todo = [m for m in available(directory) if target is None or m.version <= target]
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute(SETUP)
    for m in todo:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
            row = await conn.fetchrow("SELECT checksum FROM schema_migrations WHERE version = $1", m.version)
            if row is not None:
                if row["checksum"] != m.checksum:
                    raise MigrationError(f"migration {m.version:04d}_{m.name} was edited after it was applied; "
                                         "add a new migration instead")
                continue
            await conn.execute(m.sql)
            await conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                               m.version, m.name, m.checksum)
            applied.append(m.version)
    return {"applied": applied, "version": await current_version(conn)}


async def current_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")


async def migrate_dsn(dsn: str, target: int | None = None) -> dict:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn, target)
    finally:
        await conn.close()
