"""`danvan run` as a real child process, for tests that kill and restart it.

The process gets its configuration the way production does: a config file and environment
variables (secrets, DATABASE_URL). Its output goes to a log file that survives restarts, so a
test can read what every incarnation logged.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environ(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without channel secrets or overrides, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "ZALO_", "DANVAN__", "DATABASE_URL"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


class DanvanProcess:
    """Start, wait for, SIGKILL and restart `python -m bot --config CONFIG run` on a fixed port."""

    def __init__(self, config: Path, env: dict[str, str], *, port: int, log_path: Path) -> None:
        self.config, self.env, self.port, self.log_path = config, env, port, log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.kill_times: list[float] = []      # time.time() of each SIGKILL

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Spawn a new incarnation (the previous one must be gone)."""
        assert self.process is None or self.process.poll() is not None
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts + 1} ===\n".encode())
            self.process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(self.config), "run"],
                                            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1

    def ready(self) -> bool:
        """True when /readyz answers 200 (web server up, database reachable, classifier fitted)."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Block until ready; returns the seconds it took. Raises if the process died or never came up."""
        started = time.monotonic()
        while not self.ready():
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"danvan exited with {self.process.returncode}; see {self.log_path}")
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"danvan not ready after {timeout}s; see {self.log_path}")
            time.sleep(0.05)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a power cut of the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.kill_times.append(time.time())
            self.process.wait()
            self.kills += 1

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (a clean stop); SIGKILL if it does not end in time. Returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


class ThreadedLoop:
    """An asyncio loop in a background thread, for a fake server that must answer promptly while the
    test's own loop is busy driving load (a slow answer widens the send/mark-sent gap it measures)."""

    def __init__(self) -> None:
        import asyncio

        self._asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="fake-server-loop")

    def __enter__(self) -> "ThreadedLoop":
        self._thread.start()
        return self

    def run(self, coro, timeout: float = 30.0):
        """Run a coroutine on the background loop and wait for its result."""
        return self._asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(self, *exc_info: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
