"""Queries behind personal-data rights: what a citizen filed, and the retention purge of contact
details (add/flush only; the caller owns the transaction and passes the rule's sets and cutoff)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Citizen, ReporterIdentity, Ticket


def tickets_filed_by(session: Session, citizen_id: int | None) -> list[Ticket]:
    """Every ticket linked to this citizen directly (not the tố cáo kept in the identity table)."""
    return list(session.exec(select(Ticket).where(Ticket.citizen_id == citizen_id)).all())


def identities_as_reporter(session: Session, citizen_id: int | None) -> list[ReporterIdentity]:
    """Every identity-table row naming this citizen as a ticket's author."""
    return list(session.exec(select(ReporterIdentity).where(ReporterIdentity.citizen_id == citizen_id)).all())


def stale_tickets_with_contact(session: Session, *, archived_types: list[str], open_statuses: list[str],
                               changed_before: datetime) -> list[Ticket]:
    """Tickets not of `archived_types`, not in `open_statuses`, unchanged since `changed_before`, that
    still hold a contact name, phone or address."""
    return list(session.exec(select(Ticket).where(col(Ticket.type).not_in(archived_types),
                                                  col(Ticket.status).not_in(open_statuses),
                                                  Ticket.updated_at < changed_before,
                                                  (Ticket.contact_name != "") | (Ticket.contact_phone != "")
                                                  | (Ticket.contact_address != ""))).all())


def erase_idle_citizens(session: Session, *, changed_before: datetime, open_statuses: list[str],
                        now: datetime) -> None:
    """Blank the name and phone of citizens unchanged since `changed_before` with no ticket in
    `open_statuses` (one UPDATE)."""
    session.execute(update(Citizen).where(Citizen.updated_at < changed_before,
                                          (Citizen.name != "") | (Citizen.phone != ""),
                                          ~col(Citizen.id).in_(select(Ticket.citizen_id).where(
                                              col(Ticket.status).in_(open_statuses),
                                              col(Ticket.citizen_id).is_not(None))))
                    .values(name="", phone="", updated_at=now))
