"""`danvan classify`: classify stdin, evaluate on a labelled file, show or run the retraining.
Registered on the main parser by bot.main.cli."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from bot.main.cli import _say, _settings


def cmd_classify(args: argparse.Namespace) -> int:
    if args.evaluate:
        return _evaluate(args)
    if args.status or args.retrain:
        return _status(args)
    from bot.core.routing import route_ticket
    from bot.main.services import build_classifier

    settings = _settings(args)
    classifier = build_classifier(settings)
    for line in sys.stdin:
        text = line.rstrip("\n")
        result = classifier.classify(text)
        office = route_ticket(settings, ticket_type="phan_anh", category=result.category)
        print(json.dumps({"category": result.category,
                          "candidates": [[code, round(score, 4)] for code, score in result.candidates],
                          "office": office}, ensure_ascii=False), flush=True)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Top-1, top-3 and a confusion table (rows: true category, columns: predicted) for FILE."""
    from bot.language.classifier import read_labelled
    from bot.main.services import build_classifier

    settings = _settings(args)
    classifier = build_classifier(settings)
    rows = read_labelled(Path(args.evaluate))
    if not rows:
        raise SystemExit(f"danvan: no labelled lines in {args.evaluate}")
    codes = [c.code for c in settings.categories]
    confusion: Counter[tuple[str, str]] = Counter()
    top1 = top3 = 0
    for text, truth in rows:
        ranked = [code for code, _ in classifier.classify(text).candidates]
        confusion[(truth, ranked[0])] += 1
        top1 += ranked[0] == truth
        top3 += truth in ranked[:3]
    short = {code: code[:6] for code in codes}
    table = [[short[t]] + [str(confusion[(t, p)] or ".") for p in codes] for t in codes]
    print(_say("classify_evaluate", total=len(rows), top1=top1 / len(rows), top3=top3 / len(rows),
               version=classifier.model.version, header=[short[c] for c in codes], table=table,
               misses=[(t, p, n) for (t, p), n in confusion.most_common() if t != p][:10]))
    return 0


def _status(args: argparse.Namespace) -> int:
    """The model in use, the corrections collected and the latest retraining decisions."""
    from bot.jobs.classifier_retrain import retrain
    from bot.main.services import build_services
    from storage.classifier import active_model, count_corrections, model_history
    from storage.engine import read_session

    services = build_services(_settings(args))
    if args.retrain:
        retrain(services.engine, services.classifier, services.clock.now(), force=True)
    with read_session(services.engine) as session:
        active, history, corrections = active_model(session), model_history(session), count_corrections(session)
    print(_say("classify_status", active=active, history=history, corrections=corrections,
               version=services.classifier.shipped_version() if active is None else active.version))
    return 0


def add_classify_command(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    cls = sub.add_parser("classify", help="classify texts from stdin (JSON lines out); --evaluate, --status")
    cls.add_argument("--evaluate", metavar="FILE", help="JSON lines of {text, category}: top-1/top-3, confusion")
    cls.add_argument("--status", action="store_true", help="model version, scores, corrections collected")
    cls.add_argument("--retrain", action="store_true", help="retrain now on the corrections, then show status")
    cls.set_defaults(func=cmd_classify)
