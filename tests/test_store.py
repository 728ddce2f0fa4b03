"""The SQLite store: migrations, WAL, foreign keys, the append-only log, the sent-log and digests."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from bot.store import MIGRATIONS, Store


def test_open_creates_schema_with_wal_and_foreign_keys(tmp_path):
    store = Store.open(tmp_path / "c.db")
    assert store.schema_version == MIGRATIONS[-1][0]
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"workspaces", "people", "tasks", "events", "na_decisions", "sent_log", "digests"} <= set(
        store.db.table_names())
    with pytest.raises(sqlite3.IntegrityError):  # an owner must be a person of the workspace
        store.ensure_workspace("T1", "slack")
        store.create_task("T1", "Restore", "UNKNOWN", "UNKNOWN")
    store.close()


def test_default_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLYBOT_DB", str(tmp_path / "env.db"))
    Store.open().close()
    assert (tmp_path / "env.db").exists()


def test_database_of_the_previous_version_upgrades_without_loss(tmp_path):
    path = tmp_path / "old.db"
    old = Store.open(path, migrations=MIGRATIONS[:-1])
    assert old.schema_version == MIGRATIONS[-2][0]
    old.upsert_person("T1", "U1", name="ada", platform="slack")
    old.create_task("T1", "Restore", "U1", "U1")
    before = {t: list(old.db[t].rows) for t in ("workspaces", "people", "tasks", "events")}
    old.close()
    new = Store.open(path)
    assert new.schema_version == MIGRATIONS[-1][0]
    assert {t: list(new.db[t].rows) for t in before} == before
    new.close()


def test_a_callable_migration_and_a_broken_one(tmp_path):
    def add_table(db):
        db["extra"].create({"id": int}, pk="id")

    store = Store.open(tmp_path / "c.db", migrations=[*MIGRATIONS, (99, add_table)])
    assert "extra" in store.db.table_names() and store.schema_version == 99
    store.close()
    with pytest.raises(sqlite3.OperationalError):
        Store.open(tmp_path / "c.db", migrations=[*MIGRATIONS, (99, add_table), (100, "CREATE TABLE broken (")])
    store = Store.open(tmp_path / "c.db")  # the failed migration left nothing behind
    assert store.schema_version == 99 and "broken" not in store.db.table_names()
    store.close()


def test_event_log_is_append_only(tmp_path):
    store = Store.open(tmp_path / "c.db")
    store.upsert_person("T1", "U1", name="ada", platform="slack")
    store.create_task("T1", "Restore", "U1", "U1")
    for sql in ("UPDATE events SET actor = 'x'", "DELETE FROM events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute(sql)
    assert len(store.events("T1")) == 1
    store.close()


def test_task_numbers_are_per_workspace(tmp_path):
    store = Store.open(tmp_path / "c.db")
    for ws in ("T1", "T2"):
        store.upsert_person(ws, "U1", name="ada", platform="slack")
    assert store.create_task("T1", "Restore", "U1", "U1").id == 1
    assert store.create_task("T1", "Vendor Review", "U1", "U1").id == 2
    assert store.create_task("T2", "Restore", "U1", "U1").id == 1
    assert store.task("T2", 2) is None
    store.close()


def test_digest_subscriptions(tmp_path):
    store = Store.open(tmp_path / "c.db")
    store.ensure_workspace("T1", "slack")
    store.subscribe_digest("T1", "slack", "C1", weekdays="mon", time="09:00", tz="Europe/Paris")
    store.subscribe_digest("T1", "slack", "C1", weekdays="mon,thu", time="10:00", tz="Europe/Paris")
    assert [(d["channel"], d["weekdays"]) for d in store.digests("T1")] == [("C1", "mon,thu")]
    assert store.digests("T2") == [] and len(store.digests()) == 1
    assert store.unsubscribe_digest("T1", "slack", "C1") and store.digests("T1") == []
    store.close()


def test_concurrent_writers_from_threads(tmp_path):
    store = Store.open(tmp_path / "c.db")
    store.upsert_person("T1", "U1", name="ada", platform="slack")

    def assign_many():
        for _ in range(50):
            store.create_task("T1", "Restore", "U1", "U1")

    threads = [threading.Thread(target=assign_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(t.id for t in store.tasks("T1")) == list(range(1, 201))
    store.close()


def test_settings_and_people(tmp_path):
    store = Store.open(tmp_path / "c.db")
    store.ensure_workspace("T1", "teams", name="Contoso")
    assert store.update_workspace_settings("T1", digest_channel="C9") == {"digest_channel": "C9"}
    assert store.workspace("T1")["settings"]["digest_channel"] == "C9"
    store.upsert_person("T1", "U1", name="Ada Lovelace", email="ada@example.com", tz="Europe/London")
    assert store.find_people("T1", "@adalovelace")[0].user_id == "U1"
    assert store.find_people("T1", "ADA@example.com")[0].tz == "Europe/London"
    before = store.dump()
    store.upsert_person("T1", "U1", name="Ada Lovelace")  # nothing new: nothing written
    assert store.dump() == before
    store.close()
