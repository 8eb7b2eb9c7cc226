"""Benchmark 11 (p95 part): one person floods the Telegram webhook while 200 normal citizens work.

One danvan server (SQLite), two phases in the same run:
  1. quiet: 200 citizens each complete an intake, pausing 4-12 s between messages as people do;
  2. flood: 200 other citizens do the same while one user sends 10,000 messages (time compressed
     40x: spread over 90 s instead of an hour, ~110/s; the flood guard's window is real time).
Reported: normal citizens' p50/p95 webhook answer time in each phase and the ratio (goal <= 1.2),
the flooder's handled messages, warnings and tickets against the configured limits.

    python -m bench.flood [--citizens 200] [--flood-messages 10000] [--flood-seconds 90] [--think 4 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.report import add_row
from bench.harness import (RESULTS, bench_config, free_port, percentile, start_fake_api, start_process, stop,
                           wait_for_port)
from bench.intake_throughput import SECRET, TOKEN, intake_script, update_for

FLOODER = 8_888_888


async def run_phase(url: str, users: list[int], *, flood: int, flood_seconds: float, seed: int,
                    think: tuple[float, float]) -> dict:
    rng = random.Random(seed)
    latencies: list[float] = []
    flood_statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=0)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession(connector=connector) as session:
        async def citizen(user_id: int) -> None:
            await asyncio.sleep(rng.uniform(0, 4))            # people do not all start at once
            for text in intake_script(user_id, 1):
                started = time.perf_counter()
                async with session.post(url, json=update_for(user_id, text), headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(rng.uniform(*think))

        async def flooder() -> None:
            # The flooder cycles through complete intakes, so the ticket cap is tested too.
            script = intake_script(FLOODER, 50)
            interval = flood_seconds / flood
            start = time.perf_counter()

            async def one(n: int) -> None:
                async with session.post(url, json=update_for(FLOODER, script[n % len(script)]),
                                        headers=headers) as response:
                    await response.read()
                    flood_statuses[response.status] = flood_statuses.get(response.status, 0) + 1

            pending = set()
            for n in range(flood):
                delay = start + n * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(one(n))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)

        started = time.perf_counter()
        await asyncio.gather(*(citizen(u) for u in users), *( [flooder()] if flood else []))
        wall = time.perf_counter() - started
    return {"updates": len(latencies), "seconds": wall, "p50_ms": percentile(latencies, 50) * 1000,
            "p95_ms": percentile(latencies, 95) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            **({"flood_messages": flood, "flood_http_statuses": flood_statuses} if flood else {})}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--flood-messages", type=int, default=10_000)
    parser.add_argument("--flood-seconds", type=float, default=90.0)
    parser.add_argument("--think", type=float, nargs=2, default=(4.0, 12.0),
                        help="seconds a normal citizen pauses between messages (uniform range)")
    args = parser.parse_args()
    from storage.crypto import new_key
    os.environ["DANVAN_DATA_KEY"] = new_key()          # shared with the server, to read its outbox here
    from storage.crypto import open_text, seal_id

    api, api_url = start_fake_api()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            port = free_port()
            db = workdir / "flood.sqlite3"
            config = bench_config(workdir / "config.yaml")
            env = {"DANVAN_CONFIG": str(config), "DATABASE_URL": f"sqlite:///{db}",
                   "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
                   "DANVAN__TELEGRAM__BASE_URL": f"{api_url}/bot",
                   "DANVAN__TELEGRAM__BASE_FILE_URL": f"{api_url}/file/bot",
                   "DANVAN__TELEGRAM__WEBHOOK_URL": "https://bench.invalid/telegram/webhook",
                   "DANVAN__WEB__PORT": str(port), "DANVAN__STORAGE__ATTACHMENTS_DIR": str(workdir / "files")}
            proc = start_process([".venv/bin/python", "-m", "bot", "run"], env=env)
            try:
                wait_for_port(port)
                url = f"http://127.0.0.1:{port}/telegram/webhook"
                quiet = asyncio.run(run_phase(url, [7_000_000 + c for c in range(args.citizens)],
                                              flood=0, flood_seconds=0, seed=1, think=tuple(args.think)))
                flood = asyncio.run(run_phase(url, [7_500_000 + c for c in range(args.citizens)],
                                              flood=args.flood_messages, flood_seconds=args.flood_seconds, seed=1,
                                              think=tuple(args.think)))
            finally:
                stop(proc)
            with sqlite3.connect(db) as conn:
                flooder_chat = seal_id(str(FLOODER))
                rows = [open_text(p) for (p,) in conn.execute("SELECT payload FROM outbox WHERE chat_id = ?",
                                                              (flooder_chat,))]
                warnings = sum("quá nhanh" in json.loads(p).get("text", "") for p in rows)
                handled = conn.execute("SELECT count(*) FROM processed_inbound").fetchone()[0]
                tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    finally:
        stop(api)
    from bot.config.settings import load_settings
    settings = load_settings(Path(__file__).resolve().parents[1] / "config.yaml", environ={}, dotenv=False)
    normal_tickets = args.citizens * 2
    result = {"quiet": quiet, "flood": flood,
              "p95_ratio_flood_to_quiet": flood["p95_ms"] / quiet["p95_ms"],
              "flooder": {"messages_sent": args.flood_messages, "replies_and_warnings_queued": len(rows),
                          "warnings": warnings, "tickets": tickets - normal_tickets,
                          "flood_phase_seconds": round(flood["seconds"], 1),
                          "messages_per_minute_limit": settings.intake.messages_per_minute,
                          "max_tickets_per_day": settings.intake.max_tickets_per_day},
              "inbound_rows_written": handled}
    print(json.dumps(result, ensure_ascii=False, default=str))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "flood.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"p95 under flood: {result['p95_ratio_flood_to_quiet']:.2f}x the quiet p95 (goal <= 1.2)")
    add_row("flood", "citizens' p95 answer under a flood", flood["p95_ms"], unit="ms", floor=quiet["p95_ms"],
            ratio=result["p95_ratio_flood_to_quiet"], goal="<= 1.2× the quiet p95")


if __name__ == "__main__":
    main()
