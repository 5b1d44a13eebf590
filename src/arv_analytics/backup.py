"""Consistent copies of a running SQLite database, and putting one back.

A file copy of a live SQLite database (plus its -wal file) can catch a half-written
transaction; SQLite's online backup API cannot. It copies the pages under one read
transaction, so the copy is the database as of one commit: sessions and the rollups written
in the same transaction arrive together. In WAL mode the writer keeps committing meanwhile.

PostgreSQL has its own tools (``pg_dump``/``pg_restore``, or base backups with WAL archiving);
this module only says how to call them.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore that cannot be done as asked (the message says why)."""


@dataclass(frozen=True, slots=True)
class Copied:
    path: Path
    bytes: int
    seconds: float
    revision: str | None


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL. In-memory databases cannot be backed up."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def postgres_advice(database_url: str, path: Path, *, restore: bool = False) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    shown = url.render_as_string(hide_password=True)
    if restore:
        return (
            "PostgreSQL: restore a pg_dump archive with pg_restore, into an empty database, "
            "with the service stopped:\n"
            f"  pg_restore --clean --if-exists --no-owner --dbname '{shown}' {path}\n"
            "then `arv-analytics db upgrade` if the archive is from an older version."
        )
    return (
        "PostgreSQL: back up with pg_dump, which takes a consistent snapshot while the service "
        "keeps running (the password comes from ~/.pgpass or PGPASSWORD):\n"
        f"  pg_dump --format=custom --file {path} '{shown}'\n"
        "For point-in-time recovery use base backups with WAL archiving (pgBackRest, barman)."
    )


def _integrity(conn: sqlite3.Connection) -> str:
    return "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def backup_sqlite(source: Path, target: Path) -> Copied:
    """Copies ``source`` to the new file ``target`` as of one commit, then checks the copy."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file (a backup never overwrites)")
    started = time.perf_counter()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # Read-only on the source: a backup must never be what changes a live database.
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src,
        closing(sqlite3.connect(partial)) as dst,
    ):
        # pages=-1: every page in one step, under one read transaction, so that commits
        # made meanwhile cannot restart the copy or end up half in it.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = _integrity(dst)
        revision = _revision(dst)
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed PRAGMA integrity_check: {check}")
    partial.rename(target)  # only a checked, complete file ever carries the chosen name
    return Copied(target, target.stat().st_size, time.perf_counter() - started, revision)


def restore_sqlite(backup: Path, target: Path) -> Copied:
    """Replaces the database at ``target`` with the backup, page by page, in one transaction.

    Through the backup API rather than a file move, so that a -wal file left beside the old
    database cannot be replayed over the restored one.
    """
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    started = time.perf_counter()
    with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as src:
        check = _integrity(src)
        if check != "ok":
            raise BackupError(f"{backup} failed PRAGMA integrity_check: {check}")
        revision = _revision(src)
        if revision is None:
            raise BackupError(f"{backup} is not an ARV Analytics database (no alembic_version)")
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(target, timeout=30)) as dst:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=WAL")  # what the service runs with (db.py)
            if _integrity(dst) != "ok":
                raise BackupError(f"the restored {target} failed PRAGMA integrity_check")
    return Copied(target, target.stat().st_size, time.perf_counter() - started, revision)
