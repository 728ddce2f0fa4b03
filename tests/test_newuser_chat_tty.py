"""`complybot chat` in a real terminal (a pseudo-terminal, as tmux or a shell gives it): the up arrow
brings back the last line, as in any shell, instead of sending '^[[A' as a question."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UP_ARROW = "\x1b[A"
WAIT_S = 20.0


def read_until(fd: int, needle: bytes, seen: bytearray) -> bytes:
    deadline = time.monotonic() + WAIT_S
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return bytes(seen)


def test_the_up_arrow_repeats_the_last_line(tmp_path):
    main, terminal = pty.openpty()
    code = f"from bot.cli import main; raise SystemExit(main(['chat', '--db', {str(tmp_path / 'c.db')!r}]))"
    chat = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdin=terminal, stdout=terminal,
                            stderr=terminal, env=dict(os.environ, TERM="xterm"), close_fds=True)
    os.close(terminal)
    seen = bytearray()
    try:
        read_until(main, b"you> ", seen)
        os.write(main, b"status\r")
        read_until(main, b"covered", seen)
        seen.clear()
        os.write(main, (UP_ARROW + "\r").encode())
        out = read_until(main, b"covered", seen).decode(errors="replace")
        assert "Compliance status" in out, out[-800:]
    finally:
        os.write(main, b"exit\r")
        chat.wait(timeout=WAIT_S)
        os.close(main)
