"""Benchmark 17: full intakes through danvan's Telegram webhook vs two echo-bot floors.

Three processes per target: the fake Bot API, the bot under test, and this load generator.
Simulated citizens each run complete intakes (answering choices by digit, as a person may),
sequentially per citizen, all citizens at once. Reported: updates/s, tickets/s, p50/p99
webhook answer time, and danvan's ratio to each floor measured in the same run.

    python -m bench.intake_throughput [--citizens 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.report import add_row
from bench.harness import (RESULTS, ROOT, bench_config, free_port, start_fake_api, start_process, stop, summary,
                           wait_for_port)
from testkit.stress_scripts import telegram_intake_script

SECRET = "bench-secret"
TOKEN = "123:ABC"
DESCRIPTIONS = [
    "Đường liên thôn đoạn qua thôn Mẫu 1 bị sạt lở, xe máy đi lại rất nguy hiểm",
    "Rac thai do bua bai canh suoi gay mui hoi, de nghi xa cho thu gom",
    "Đèn đường ngõ xóm hỏng cả tháng nay chưa ai sửa, tối đi lại khó khăn",
    "Co nguoi khai thac cat trai phep ban dem o ben song, xe cho cat lam hong duong",
]
_update_ids = itertools.count(1_000_000)


def intake_script(citizen: int, rounds: int) -> list[str]:
    """The texts one citizen sends (the stress tests' script, with half the descriptions unaccented)."""
    return telegram_intake_script(citizen, rounds, DESCRIPTIONS)


def update_for(user_id: int, text: str) -> dict:
    return {"update_id": next(_update_ids),
            "message": {"message_id": next(_update_ids), "date": int(time.time()), "text": text,
                        "chat": {"id": user_id, "type": "private", "first_name": "Dân"},
                        "from": {"id": user_id, "is_bot": False, "first_name": "Dân"}}}


async def drive(port: int, scripts: dict[int, list[str]]) -> tuple[list[float], float, int]:
    """Post every citizen's script concurrently; returns latencies, wall time, non-2xx count."""
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def citizen(user_id: int, texts: list[str]) -> None:
            nonlocal failures
            for text in texts:
                started = time.perf_counter()
                async with session.post(url, json=update_for(user_id, text),
                                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    await response.read()
                    if response.status >= 300:
                        failures += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(citizen(uid, texts) for uid, texts in scripts.items()))
        return latencies, time.perf_counter() - started, failures


def run_echo(api_url: str, backend: str, scripts: dict[int, list[str]]) -> dict:
    port = free_port()
    proc = start_process([".venv/bin/python", "-m", "bench.echo_bot", "--backend", backend, "--api", api_url,
                          "--port", str(port), "--token", TOKEN])
    try:
        wait_for_port(port)
        latencies, wall, failures = asyncio.run(drive(port, scripts))
    finally:
        stop(proc)
    updates = len(latencies)
    return {"target": f"echo-{backend}", "updates": updates, "seconds": wall, "updates_per_s": updates / wall,
            "failures": failures, **summary(latencies)}


def pending_outbox(db: Path) -> int:
    """Pending replies to citizens (office cards carry a ticket code and drain at Telegram's 20/min
    per group, which is the limit's time, not danvan's; chat ids are sealed, so the code tells them apart)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending' "
                            "AND ticket_code = ''").fetchone()[0]


def run_danvan(api_url: str, scripts: dict[int, list[str]], workdir: Path, profile: str = "") -> dict:
    port = free_port()
    db = workdir / "bench.sqlite3"
    env = {"DANVAN_CONFIG": str(bench_config(workdir / "config.yaml")), "DATABASE_URL": f"sqlite:///{db}",
           "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
           "DANVAN__TELEGRAM__BASE_URL": f"{api_url}/bot", "DANVAN__TELEGRAM__BASE_FILE_URL": f"{api_url}/file/bot",
           "DANVAN__TELEGRAM__WEBHOOK_URL": "https://bench.invalid/telegram/webhook",
           "DANVAN__WEB__PORT": str(port), "DANVAN__STORAGE__ATTACHMENTS_DIR": str(workdir / "files")}
    proc = start_process([".venv/bin/python", "-m", "bot", "run"], env=env)
    spy = None
    try:
        wait_for_port(port)
        if profile:     # py-spy samples the server process while the load runs
            spy = subprocess.Popen([".venv/bin/py-spy", "record", "--pid", str(proc.pid), "--rate", "50", "--gil",
                                    "--format", "raw" if profile.endswith(".txt") else "flamegraph",
                                    "--output", profile], cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
            time.sleep(1)
        latencies, wall, failures = asyncio.run(drive(port, scripts))
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        drain_started = time.perf_counter()
        while pending_outbox(db) and time.perf_counter() - drain_started < 300:
            time.sleep(0.2)
        drain = time.perf_counter() - drain_started
    finally:
        stop(proc)
    with sqlite3.connect(db) as conn:
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        sent = conn.execute("SELECT count(*) FROM outbox WHERE status = 'sent'").fetchone()[0]
        group_pending = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending' "
                                     "AND ticket_code != ''").fetchone()[0]
    updates = len(latencies)
    return {"target": "danvan-sqlite", "updates": updates, "seconds": wall, "updates_per_s": updates / wall,
            "tickets": tickets, "tickets_per_s": tickets / wall, "failures": failures,
            "messages_sent": sent, "office_group_rows_pending": group_pending,
            "citizen_outbox_drain_after_load_s": drain, **summary(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--danvan-only", action="store_true", help="skip the echo floors (profiling)")
    parser.add_argument("--profile", default="", help="py-spy output for the danvan server (.svg or .txt)")
    args = parser.parse_args()
    scripts = {9_000_000 + c: intake_script(c, args.rounds) for c in range(args.citizens)}
    api, api_url = start_fake_api()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.danvan_only:
                print(json.dumps(run_danvan(api_url, scripts, Path(tmp), args.profile)))
                return
            results = [run_echo(api_url, "httpx", scripts), run_echo(api_url, "aiohttp", scripts),
                       run_danvan(api_url, scripts, Path(tmp), args.profile)]
    finally:
        stop(api)
    floor_default, floor_aiohttp, danvan = results
    danvan["ratio_to_default_echo"] = danvan["updates_per_s"] / floor_default["updates_per_s"]
    danvan["ratio_to_aiohttp_echo"] = danvan["updates_per_s"] / floor_aiohttp["updates_per_s"]
    for r in results:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}, ensure_ascii=False))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "intake_throughput.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"ratios: {danvan['ratio_to_default_echo']:.2f}x the default echo floor (goal >= 1.0), "
          f"{danvan['ratio_to_aiohttp_echo']:.2f}x the aiohttp echo floor (goal >= 0.4); "
          f"p99 {danvan['p99_ms']:.0f} ms = {danvan['p99_ms'] / 100:.2f}x the 100 ms limit")
    name = f"intake_throughput ({args.citizens} citizens)"
    add_row(name, "updates/s vs default echo", danvan["updates_per_s"], floor=floor_default["updates_per_s"],
            ratio=danvan["ratio_to_default_echo"], goal=">= 1.0×")
    add_row(name, "updates/s vs aiohttp echo", danvan["updates_per_s"], floor=floor_aiohttp["updates_per_s"],
            ratio=danvan["ratio_to_aiohttp_echo"], goal=">= 0.4×")
    add_row(name, "p99 webhook answer", danvan["p99_ms"], unit="ms", floor=100, ratio=danvan["p99_ms"] / 100,
            goal="< 100 ms")


if __name__ == "__main__":
    main()
