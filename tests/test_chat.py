"""`complybot chat` as a person uses it: a real process, commands on standard input, plain-text replies."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def chat(tmp_path, lines: str | bytes, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COMPLYBOT_DB": str(tmp_path / "chat.db"), "USER": "owner", "LOGNAME": "owner", **extra_env}
    data = lines if isinstance(lines, bytes) else lines.encode()
    return subprocess.run([sys.executable, "-m", "bot.cli", "chat", *args], input=data, capture_output=True,
                          cwd=ROOT, env=env, timeout=60)


def test_a_whole_workflow_in_the_terminal(tmp_path):
    result = chat(tmp_path, "help\nassign user access review to @bob due in 2 weeks every quarter\n"
                            "tasks all\ndone 1\nstatus\nhistory 1\n")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "assign <control> to @person" in out
    assert "Assigned User Access Review to @bob as task 1" in out
    assert "[Done → done 1]" in out and "[Snooze 1 week → snooze 1 7]" in out
    assert "Next occurrence: task 2" in out
    assert "▓" in out or "░" in out
    assert "Traceback" not in out + result.stderr.decode()


def test_as_someone_else_is_a_member(tmp_path):
    chat(tmp_path, "assign Disk Encryption to @bob\n")  # the local user (owner) is admin
    result = chat(tmp_path, "done 1\nassign Restore to @owner\n", "--as", "carol")
    out = result.stdout.decode()
    assert "belongs to @bob" in out and "only to themselves" in out
    result = chat(tmp_path, "done 1\n", "--as", "bob")
    assert "Done: task 1" in result.stdout.decode()


def test_configured_admins_apply_in_chat(tmp_path):
    chat(tmp_path, "tasks\n")  # the local user comes first
    result = chat(tmp_path, "assign Restore to @owner\n", "--as", "dana", COMPLYBOT_ADMINS="local:dana")
    assert "Assigned Restore to @owner" in result.stdout.decode()


def test_bad_input_gets_polite_answers_and_a_clean_exit(tmp_path):
    junk = b"\xff\xfe\x00\x01binary\n" + b"x" * 40_000 + b"\n" + "🙂🙂🙂\n".encode() + b"\n" + b"done 42"
    result = chat(tmp_path, junk)
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "40,000 characters" in out and "no task 42" in out
    assert "Traceback" not in out + result.stderr.decode()


def test_empty_input_exits_cleanly(tmp_path):
    result = chat(tmp_path, "")
    assert result.returncode == 0 and result.stderr.decode() == ""


def test_tasks_command_from_the_shell(tmp_path):
    chat(tmp_path, "assign Disk Encryption to @bob due in 3 weeks\n")
    env = {**os.environ, "COMPLYBOT_DB": str(tmp_path / "chat.db"), "USER": "owner", "LOGNAME": "owner"}

    def tasks(*args):
        return subprocess.run([sys.executable, "-m", "bot.cli", "tasks", *args], capture_output=True, cwd=ROOT,
                              env=env, timeout=60)

    everyone = tasks("all")
    assert everyone.returncode == 0 and "#1 Disk Encryption · @bob" in everyone.stdout.decode()
    assert "#1 Disk Encryption" in tasks("--as", "bob").stdout.decode()
    unknown = tasks("of", "the", "moon")
    assert unknown.returncode == 1 and "I can list `tasks`" in unknown.stdout.decode()


def test_undecodable_input_is_ordinary_text(tmp_path):
    """Bytes that are not UTF-8 in `--as` (argv carries them as lone surrogates) and on standard input."""
    result = chat(tmp_path, b"assign disk encryption to me note \xed\xa0\x80 cafe\xcc\x81\n", "--as", b"ev\xed\xa0\x80e")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "Assigned Disk Encryption to @ev\ufffd\ufffd\ufffde as task 1" in out, out
    assert "Sorry" not in out and "Traceback" not in out + result.stderr.decode()
