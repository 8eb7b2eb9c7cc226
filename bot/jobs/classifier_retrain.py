"""Retrain the category classifier on officials' corrections, daily; switch only if not worse.

Training takes about a second, so it runs outside any write transaction: read the corrections,
fit and score in memory, then record the decision in one short transaction and, if the new
model won, put it in the running process's slot.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.language.learning import ModelSlot, Scores, build_model, score
from bot.language.linear import Example
from storage.classifier import active_model, corrections, model_history, record_model, recent_corrections
from storage.engine import read_session, write_session
from storage.models import ClassifierModel
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
RECENT_CORRECTIONS = 200


def active_corrections(engine: Engine) -> list[Example]:
    """The corrections the active model version was trained on (none before the first switch)."""
    with read_session(engine) as session:
        active = active_model(session)
        if active is None:
            return []
        return [Example(c.text, c.to_category) for c in corrections(session, upto=active.corrections_upto)]


def retrain(engine: Engine, slot: ModelSlot, now: datetime, *, force: bool = False) -> ClassifierModel | None:
    """Fit a model on every correction so far; keep it only if it does not score worse than the
    one in use on the held-out set and the recent corrections. None when there is nothing new."""
    with read_session(engine) as session:
        latest = model_history(session, limit=1)
        rows = corrections(session)
        recent = [Example(c.text, c.to_category) for c in recent_corrections(session, limit=RECENT_CORRECTIONS)]
    upto = rows[-1].id if rows else 0
    if not force and (not rows or (latest and latest[0].corrections_upto >= upto)):
        return None
    current = slot.model
    candidate = build_model(slot.categories, [Example(c.text, c.to_category) for c in rows]).fit()
    before, after = score(current, recent), score(candidate, recent)
    switch = after.at_least(before)
    record = _record(candidate.version, upto, len(candidate.examples), after, active=switch,
                     decision="switched" if switch else "kept", now=now)
    with write_session(engine) as session:
        record_model(session, record)
    if switch:
        slot.replace(candidate)
    log.info("classifier retrained on %d corrections: held-out %.3f/%.3f -> %.3f/%.3f, recent %.3f -> %.3f; %s",
             len(rows), before.heldout_top1, before.heldout_top3, after.heldout_top1, after.heldout_top3,
             before.recent_top1, after.recent_top1, record.decision)
    return record


def _record(version: str, upto: int, examples: int, scores: Scores, *, active: bool, decision: str,
            now: datetime) -> ClassifierModel:
    return ClassifierModel(version=version, corrections_upto=upto, examples=examples,
                           heldout_top1=scores.heldout_top1, heldout_top3=scores.heldout_top3,
                           recent_top1=scores.recent_top1, recent_count=scores.recent_count,
                           active=active, decision=decision, created_at=now)
