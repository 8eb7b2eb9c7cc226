"""The results table of `make bench`: each benchmark appends one row per goal it measures
(`add_row`) to bench/results/rows.jsonl; run last, this module assembles them into
bench/results/latest.md (benchmark, metric, value, floor/limit, ratio, goal, machine load, date).

    python -m bench.report            # assemble bench/results/latest.md from the rows
    python -m bench.report --reset    # forget the rows of an earlier run (make bench does this first)
    python -m bench.report --dry-run  # print the table, write nothing
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from bench.harness import RESULTS

ROWS = RESULTS / "rows.jsonl"
LATEST = RESULTS / "latest.md"
COLUMNS = ("benchmark", "metric", "value", "floor/limit", "ratio", "goal", "machine load", "date")


def machine_load() -> str:
    """The 1/5/15-minute load averages and the core count, e.g. "3.81 / 5.05 / 5.83 (2 cores)"."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} ({os.cpu_count()} cores)"


def add_row(benchmark: str, metric: str, value: float | str, *, floor: float | str | None = None,
            ratio: float | None = None, goal: str = "", unit: str = "", rows: Path = ROWS) -> dict:
    """Append one measured figure (with its floor or limit and the ratio to it) to the run's rows."""
    row = {"benchmark": benchmark, "metric": metric, "value": _fmt(value, unit),
           "floor/limit": "" if floor is None else _fmt(floor, unit),
           "ratio": "" if ratio is None else f"{ratio:.2f}×", "goal": goal, "machine load": machine_load(),
           "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    rows.parent.mkdir(parents=True, exist_ok=True)
    with rows.open("a", encoding="utf-8") as out:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return row


def _fmt(value: float | str, unit: str) -> str:
    if isinstance(value, str):
        return value
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def read_rows(rows: Path = ROWS) -> list[dict]:
    if not rows.exists():
        return []
    return [json.loads(line) for line in rows.read_text(encoding="utf-8").splitlines() if line.strip()]


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table (a later row for the same benchmark and metric wins)."""
    latest: dict[tuple[str, str], dict] = {}
    for row in rows:
        latest[(row["benchmark"], row["metric"])] = row
    lines = ["# Benchmark results (latest `make bench`)", "",
             "Written by `python -m bench.report` from bench/results/rows.jsonl; see README, Benchmarks.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in latest.values():
        lines.append("| " + " | ".join(str(row.get(c, "")).replace("|", "\\|") for c in COLUMNS) + " |")
    if not latest:
        lines.append("| (no rows: run `make bench`) |" + " |" * (len(COLUMNS) - 1))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reset", action="store_true", help="forget the rows of an earlier run")
    parser.add_argument("--dry-run", action="store_true", help="print the table, write nothing")
    parser.add_argument("--rows", type=Path, default=ROWS)
    parser.add_argument("--out", type=Path, default=LATEST)
    args = parser.parse_args()
    if args.reset:
        args.rows.unlink(missing_ok=True)
        return
    text = table(read_rows(args.rows))
    if args.dry_run:
        print(text, end="")
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
