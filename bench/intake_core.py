"""In-process cost of the intake core: the same citizen scripts as bench.intake_throughput, fed
straight to Service.handle_inbound (no HTTP, no sender), one at a time, or to
Service.handle_batch in groups of --batch (what the webhook's writer thread does under load). For profiling.

    python -m bench.intake_core [--citizens 50] [--rounds 2] [--batch 1] [--profile out.html|out.prof]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

from bench.harness import bench_config
from bench.intake_throughput import intake_script
from bot.core.domain import Channel, Inbound


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1, help="events per transaction (1: handle_inbound)")
    parser.add_argument("--profile", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DANVAN_CONFIG"] = str(bench_config(Path(tmp) / "config.yaml"))
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'core.sqlite3'}"
        os.environ["DANVAN__STORAGE__ATTACHMENTS_DIR"] = str(Path(tmp) / "files")
        from bot.main.composition import build_services
        from bot.config.settings import load_settings
        from bot.service.transactions import Service

        services = build_services(load_settings(dotenv=False))
        service = Service(services)
        scripts = {9_000_000 + c: intake_script(c, args.rounds) for c in range(args.citizens)}
        ids = itertools.count(1)
        # Interleave citizens: step k of every citizen, then step k+1, as concurrent people would.
        inbounds = [Inbound(channel=Channel.TELEGRAM, user_id=str(uid), chat_id=str(uid),
                            external_id=str(next(ids)), text=texts[k])
                    for k in range(max(map(len, scripts.values())))
                    for uid, texts in scripts.items() if k < len(texts)]
        profiler = None
        if args.profile.endswith(".html"):
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.0005)
            profiler.start()
        elif args.profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        tickets = 0
        if args.batch <= 1:
            for inbound in inbounds:
                tickets += len(service.handle_inbound(inbound).ticket_codes)
        else:
            for first in range(0, len(inbounds), args.batch):
                for outcome in service.handle_batch([(i, None) for i in inbounds[first:first + args.batch]]):
                    tickets += len(outcome.ticket_codes)
        elapsed = time.perf_counter() - started
        if args.profile.endswith(".html"):
            profiler.stop()
            Path(args.profile).write_text(profiler.output_html(), encoding="utf-8")
            print(profiler.output_text(unicode=False, color=False, show_all=False)[:20000])
        elif profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        services.engine.dispose()
    print(json.dumps({"batch": args.batch, "updates": len(inbounds), "tickets": tickets, "seconds": round(elapsed, 3),
                      "updates_per_s": round(len(inbounds) / elapsed, 1),
                      "ms_per_update": round(elapsed / len(inbounds) * 1000, 3)}))


if __name__ == "__main__":
    main()
