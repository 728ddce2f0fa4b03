"""`complybot backup PATH` and `complybot restore PATH`, with SQLite's online backup API.

A backup copies one consistent snapshot while the server keeps writing (WAL: writers are not blocked)
into PATH.partial, checks it and then renames it, so PATH is always a whole, checked database.
A restore checks the backup first, keeps the current database next to it as `<db>.before-restore-…`,
then copies the backup in through the same API (which takes SQLite's locks, unlike a file copy that
would tear against the -wal file).
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path

LOCK_TIMEOUT_SECONDS = 30


class BackupError(Exception):
    """Why a backup or restore was refused; said in one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the backup file")
    parser.add_argument("--db", help="the database (default: $COMPLYBOT_DB or ./complybot.db)")


def run(args: argparse.Namespace) -> int:
    from bot.config import database_path

    database = args.db or database_path()
    action = restore_database if args.command == "restore" else backup_database
    try:
        print(action(database, args.path))
    except (BackupError, sqlite3.Error, OSError) as error:
        print(f"complybot {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


def copy_database(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    """The whole database in one step: one read transaction, so one consistent snapshot."""
    source.backup(target, pages=-1)


def check_integrity(connection: sqlite3.Connection, name: str) -> None:
    result = connection.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        raise BackupError(f"{name} fails PRAGMA integrity_check: {result[0][0]}")


def connect(path: str | Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)


def backup_database(database: str, target: str) -> str:
    if not Path(database).is_file():
        raise BackupError(f"no database at {database!r} (set COMPLYBOT_DB or --db)")
    target_path = Path(target)
    if target_path.resolve() == Path(database).resolve():
        raise BackupError("PATH is the database itself; choose another file")
    partial = target_path.with_name(target_path.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    source, copy = connect(database), connect(partial)
    try:
        copy_database(source, copy)
        check_integrity(copy, "the copy")
        pages = copy.execute("PRAGMA page_count").fetchone()[0]
    finally:
        source.close()
        copy.close()
    _fsync(partial)
    os.replace(partial, target_path)
    size_mb = target_path.stat().st_size / 1e6
    return f"Backed up {database} to {target} ({pages} pages, {size_mb:.1f} MB, integrity ok) in {time.perf_counter() - started:.2f} s."


def restore_database(database: str, backup: str) -> str:
    if not Path(backup).is_file():
        raise BackupError(f"no backup at {backup!r}")
    source = sqlite3.connect(f"file:{Path(backup).resolve()}?mode=ro", uri=True, timeout=LOCK_TIMEOUT_SECONDS)
    try:
        try:
            check_integrity(source, f"the backup {backup!r}")
            tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{backup!r} is not a SQLite database ({error})") from None
        if "schema_migrations" not in tables:
            raise BackupError(f"{backup!r} is not a complybot database (no schema_migrations table)")
        kept = ""
        if Path(database).is_file():
            kept = f"{database}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}"
            backup_database(database, kept)
        target = connect(database)
        try:
            copy_database(source, target)
            check_integrity(target, "the restored database")
        finally:
            target.close()
    finally:
        source.close()
    previous = f" The previous database is kept at {kept}." if kept else ""
    return f"Restored {database} from {backup} (integrity ok).{previous}"


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
