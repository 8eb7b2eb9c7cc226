"""Benchmark 20: resident memory of `danvan run` at rest with Telegram, Zalo and the web enabled.

The Bot API is the fake one (its own process); Zalo's API address points at a closed local port,
so the Zalo side runs (webhook route, worker, token keeper) without a real OA.

    python -m bench.idle_memory [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.harness import RESULTS, bench_config, free_port, start_fake_api, start_process, stop, wait_for_port
from bench.report import add_row


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    api, api_url = start_fake_api()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            env = {"DANVAN_CONFIG": str(bench_config(Path(tmp) / "config.yaml")),
                   "DATABASE_URL": f"sqlite:///{tmp}/idle.sqlite3", "TELEGRAM_BOT_TOKEN": "123:ABC",
                   "TELEGRAM_WEBHOOK_SECRET": "s", "DANVAN__TELEGRAM__BASE_URL": f"{api_url}/bot",
                   "DANVAN__TELEGRAM__WEBHOOK_URL": "https://bench.invalid/telegram/webhook",
                   "DANVAN__WEB__PORT": str(port), "ZALO_APP_ID": "1", "ZALO_APP_SECRET": "s",
                   "ZALO_OA_SECRET_KEY": "k", "DANVAN__ZALO__API_BASE_URL": "http://127.0.0.1:9",
                   "DANVAN__ZALO__OAUTH_BASE_URL": "http://127.0.0.1:9",
                   "DANVAN__STORAGE__ATTACHMENTS_DIR": f"{tmp}/files", "DANVAN_DATA_KEY_FILE": f"{tmp}/key"}
            proc = start_process([".venv/bin/python", "-m", "bot", "run"], env=env)
            try:
                wait_for_port(port)
                for path in ("/", "/chat", "/healthz", "/metrics"):      # touch every part once
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read()
                time.sleep(args.seconds)
                result = {"rss_mb": round(rss_mb(proc.pid), 1), "idle_seconds": args.seconds,
                          "goal_mb": 150, "alive": proc.poll() is None}
            finally:
                stop(proc)
    finally:
        stop(api)
    print(json.dumps(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "idle_memory.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"idle RSS {result['rss_mb']} MB = {result['rss_mb'] / result['goal_mb']:.2f}x the {result['goal_mb']} MB limit")
    add_row("idle_memory", "idle RSS", result["rss_mb"], unit="MB", floor=result["goal_mb"],
            ratio=result["rss_mb"] / result["goal_mb"], goal=f"< {result['goal_mb']} MB")


if __name__ == "__main__":
    main()
