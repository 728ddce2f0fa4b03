"""`complybot backup` while 20 writers keep writing, and `complybot restore`."""
from __future__ import annotations

import sqlite3
import threading
import time
from collections import defaultdict

from bot.store import Store
from tests.serving import clean_env, run_complybot

WRITERS = 20
WORKSPACE = "T-backup"


class Writers:
    """20 threads, each with its own connection, appending numbered events through the real store;
    `acked[w]` counts the writes whose call returned (the acknowledged ones)."""

    def __init__(self, path):
        self.path = path
        self.acked = [0] * WRITERS
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.stores = [Store.open(path) for _ in range(WRITERS)]
        self.threads = [threading.Thread(target=self._write, args=(w,)) for w in range(WRITERS)]

    def _write(self, writer: int) -> None:
        store = self.stores[writer]
        try:
            while not self.stop.is_set():
                store.log(WORKSPACE, None, f"writer-{writer}", "probe", new=str(self.acked[writer]))
                self.acked[writer] += 1
                time.sleep(0.001)  # like real traffic: without a pause, one thread keeps the write lock
        except BaseException as error:  # surfaced by the test
            self.errors.append(error)

    def wait_until_each_wrote(self, count: int, timeout: float = 30) -> None:
        """SQLite takes writers one at a time and not in turn; wait until all 20 are really going."""
        deadline = time.monotonic() + timeout
        while min(self.acked) < count and time.monotonic() < deadline and not self.errors:
            time.sleep(0.02)

    def __enter__(self) -> "Writers":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        for store in self.stores:
            store.close()


def new_store(path, history: int = 0) -> None:
    """A complybot database; `history` old audit events make the copy take a while."""
    store = Store.open(path)
    store.ensure_workspace(WORKSPACE, "console")
    with store.transaction():
        for number in range(history):
            store.log(WORKSPACE, None, "history", "note", new=f"an older event, number {number:06d} " * 4)
    store.close()


def written(path) -> dict[int, list[int]]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT actor, new FROM events WHERE workspace = ? AND action = 'probe'", [WORKSPACE]).fetchall()
    finally:
        connection.close()
    by_writer: dict[int, list[int]] = defaultdict(list)
    for actor, sequence in rows:
        by_writer[int(actor.removeprefix("writer-"))].append(int(sequence))
    return by_writer


def integrity(path) -> str:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def test_backup_while_20_writers_run_restores_every_acknowledged_write(tmp_path):
    live, backup, restored = tmp_path / "live.db", tmp_path / "backup.db", tmp_path / "restored.db"
    new_store(live, history=30_000)
    env = clean_env(COMPLYBOT_DB=str(live))
    with Writers(live) as writers:
        writers.wait_until_each_wrote(3)
        acked_before = list(writers.acked)
        result = run_complybot("backup", str(backup), cwd=tmp_path, env=env)
        acked_after = list(writers.acked)
        time.sleep(0.2)  # writers keep going after the backup, too
    assert not writers.errors, writers.errors
    assert result.returncode == 0, result.stderr
    assert "integrity ok" in result.stdout
    assert min(acked_before) >= 3, "every writer was writing when the backup started"
    print(f"backup during {sum(acked_before)}..{sum(acked_after)} acknowledged writes: {result.stdout.strip()}")

    restore = run_complybot("restore", str(backup), "--db", str(restored), cwd=tmp_path, env=env)
    assert restore.returncode == 0, restore.stderr
    assert integrity(restored) == "ok"
    in_backup = written(restored)
    for writer in range(WRITERS):
        count = len(in_backup[writer])
        # every write acknowledged before the backup started, and a consistent snapshot: no gaps
        assert acked_before[writer] <= count <= acked_after[writer], (writer, acked_before[writer], count)
        assert sorted(in_backup[writer]) == list(range(count))

    # once the writers stop, a backup holds every acknowledged write exactly
    final = tmp_path / "final.db"
    assert run_complybot("backup", str(final), cwd=tmp_path, env=env).returncode == 0
    assert {w: len(seqs) for w, seqs in written(final).items()} == dict(enumerate(writers.acked))
    assert integrity(final) == "ok"


def test_restore_keeps_the_current_database_aside(tmp_path):
    live, backup = tmp_path / "live.db", tmp_path / "backup.db"
    new_store(live)
    store = Store.open(live)
    store.log(WORKSPACE, None, "writer-0", "probe", new="0")
    store.close()
    env = clean_env(COMPLYBOT_DB=str(live))
    assert run_complybot("backup", str(backup), cwd=tmp_path, env=env).returncode == 0
    store = Store.open(live)
    store.log(WORKSPACE, None, "writer-0", "probe", new="1")  # after the backup
    store.close()

    result = run_complybot("restore", str(backup), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert written(live) == {0: [0]}
    kept = sorted(tmp_path.glob("live.db.before-restore-*"))
    assert len(kept) == 1 and kept[0].name in result.stdout
    assert sorted(written(kept[0])[0]) == [0, 1]
    reopened = Store.open(live)  # the restored file is a working store
    assert reopened.schema_version > 0
    reopened.close()


def test_restore_refuses_what_is_not_a_complybot_backup(tmp_path):
    live = tmp_path / "live.db"
    Store.open(live).close()
    env = clean_env(COMPLYBOT_DB=str(live))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    before = live.read_bytes()

    for bad, reason in ((garbage, "not a SQLite database"), (other, "not a complybot database"),
                        (tmp_path / "missing.db", "no backup at")):
        result = run_complybot("restore", str(bad), cwd=tmp_path, env=env)
        assert result.returncode == 1
        assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert live.read_bytes() == before
    assert not list(tmp_path.glob("live.db.before-restore-*"))


def test_backup_of_a_missing_database_says_so(tmp_path):
    result = run_complybot("backup", str(tmp_path / "b.db"), cwd=tmp_path,
                           env=clean_env(COMPLYBOT_DB=str(tmp_path / "nothing.db")))
    assert result.returncode == 1
    assert "no database at" in result.stderr
    assert not (tmp_path / "b.db").exists()
