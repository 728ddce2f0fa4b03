"""Run the installed `complybot` command as a real process: a clean environment (no settings leak in
from the machine), its own working directory (no stray .env), logs to a file the test can read."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import fields
from pathlib import Path

from bot.config import Settings

COMPLYBOT = str(Path(sys.executable).parent / "complybot")
SETTING_NAMES = {f.metadata["env"] for f in fields(Settings)}
SERVE_AT = ("import sys, time_machine; time_machine.travel(sys.argv[1], tick=True).start(); "
            "from bot.cli import main; sys.exit(main(sys.argv[2:]))")


def clean_env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SETTING_NAMES}
    env.update(settings)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_complybot(*args: str, cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([COMPLYBOT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


class ServeProcess:
    """`complybot serve` on 127.0.0.1 and a free port, stopped with SIGTERM like a platform would.
    The scheduler is off unless a test asks (COMPLYBOT_SCHEDULER="on"): its tick at start-up could
    send a nudge the test does not expect whenever it happens to be a working morning somewhere."""

    def __init__(self, workdir: Path, *args: str, program: tuple[str, ...] = (COMPLYBOT,), clock_at: str = "",
                 **settings: str):
        """`program`: what runs `serve` (another checkout's `python -m bot.cli`, for benchmarks);
        `clock_at` (ISO time): the process's clock starts there and runs on (time-machine)."""
        settings = {"COMPLYBOT_SCHEDULER": "off", **settings}
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / f"serve-{self.port}.log"
        env = clean_env(COMPLYBOT_DB=str(workdir / "complybot.db"), **settings)
        self._log = open(self.log_path, "w")
        command = [sys.executable, "-c", SERVE_AT, clock_at] if clock_at else list(program)
        self.process = subprocess.Popen(
            [*command, "serve", "--port", str(self.port), *args],
            cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"complybot serve exited with {self.process.returncode}:\n{self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"complybot serve did not listen within {timeout} s:\n{self.logs()}")

    def get_json(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def log_events(self) -> list[dict]:
        return [json.loads(line) for line in self.logs().splitlines() if line.startswith("{")]

    def terminate(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def __enter__(self) -> "ServeProcess":
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log.closed:
            self._log.close()
