"""`danvan run` with no tokens serves the web front on the configured port and offers the console
chat in the same process; SIGINT stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from testkit.config import write_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_without_tokens_serves_web_and_console(tmp_path, database_url, engine):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DANVAN__"))}
    env.update(DATABASE_URL=database_url, DANVAN__WEB__PORT=str(port), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(write_config(tmp_path)), "run"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                               cwd=tmp_path, text=True)
    try:
        deadline, page = time.monotonic() + 30, ""
        while time.monotonic() < deadline and not page:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/chat", timeout=2).read().decode()
            except OSError:
                time.sleep(0.2)
        assert 'src="/static/chat.js"' in page
        process.stdin.write("1\n")          # the console answers the consent question too
        process.stdin.flush()
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert f"Web: http://127.0.0.1:{port}" in output
    assert "Ông/bà có đồng ý không?" in output and "Cảm ơn" in output
