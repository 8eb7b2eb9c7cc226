"""Officials' category corrections and the classifier's model versions (add/flush only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from storage.models import CategoryCorrection, ClassifierModel


def add_correction(session: Session, *, ticket_ref: str, text: str, from_category: str, to_category: str,
                   source: str, now: datetime) -> CategoryCorrection:
    """Record a correction; an earlier correction of the same ticket is replaced (the last word counts)."""
    session.execute(delete(CategoryCorrection).where(CategoryCorrection.ticket_ref == ticket_ref))
    row = CategoryCorrection(ticket_ref=ticket_ref, text=text, from_category=from_category,
                             to_category=to_category, source=source, created_at=now)
    session.add(row)
    session.flush()
    return row


def corrections(session: Session, *, upto: int | None = None) -> list[CategoryCorrection]:
    """Corrections in the order they were made, optionally only those with id <= upto."""
    query = select(CategoryCorrection).order_by(CategoryCorrection.id)
    if upto is not None:
        query = query.where(CategoryCorrection.id <= upto)
    return list(session.exec(query))


def recent_corrections(session: Session, *, limit: int) -> list[CategoryCorrection]:
    """The newest `limit` corrections, oldest first."""
    rows = session.exec(select(CategoryCorrection).order_by(CategoryCorrection.id.desc()).limit(limit))
    return list(reversed(list(rows)))


def last_correction_id(session: Session) -> int:
    """The id of the newest correction, 0 when there is none."""
    return int(session.exec(select(func.max(CategoryCorrection.id))).one() or 0)


def count_corrections(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(CategoryCorrection)).one())


def active_model(session: Session) -> ClassifierModel | None:
    """The model version the bot classifies with (None: the shipped set alone)."""
    return session.exec(select(ClassifierModel).where(ClassifierModel.active == True)  # noqa: E712
                        .order_by(ClassifierModel.id.desc())).first()


def record_model(session: Session, model: ClassifierModel) -> ClassifierModel:
    """Store a trained model's scores; an active one replaces the previous active model."""
    if model.active:
        session.execute(update(ClassifierModel).where(ClassifierModel.active == True)  # noqa: E712
                        .values(active=False))
    session.add(model)
    session.flush()
    return model


def model_history(session: Session, *, limit: int = 10) -> list[ClassifierModel]:
    """The latest model decisions, newest first."""
    return list(session.exec(select(ClassifierModel).order_by(ClassifierModel.id.desc()).limit(limit)))
