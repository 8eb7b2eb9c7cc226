"""Ticket lifecycle: which status may follow which, and THE state sets every count uses.

A transfer *within* the UBND (TRANSFERRED: from one office to another) keeps the ticket open and
within competence: it waits at the receiving office, in its plan and its figures. A referral
*outside* (REFERRED) or guiding the citizen elsewhere (REFUSED) ends the commune's handling: not
within competence, counted in the first office's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Protocol, TypeVar

from bot.core.domain import TicketStatus as S

TRANSITIONS: dict[S, frozenset[S]] = MappingProxyType({
    S.RECEIVED: frozenset({S.ACCEPTED, S.TRANSFERRED, S.REFUSED, S.REFERRED, S.WAITING_CITIZEN, S.MEDIATION}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.WAITING_CITIZEN, S.RESOLVED, S.TRANSFERRED, S.REFUSED, S.REFERRED,
                           S.MEDIATION}),
    S.IN_PROGRESS: frozenset({S.WAITING_CITIZEN, S.RESOLVED, S.TRANSFERRED, S.REFUSED, S.REFERRED, S.MEDIATION}),
    S.WAITING_CITIZEN: frozenset({S.IN_PROGRESS, S.ACCEPTED, S.RECEIVED, S.RESOLVED, S.REFUSED, S.REFERRED}),
    S.TRANSFERRED: frozenset({S.RECEIVED, S.ACCEPTED, S.WAITING_CITIZEN, S.REFUSED, S.REFERRED,
                              S.MEDIATION}),
    S.MEDIATION: frozenset({S.RESOLVED, S.IN_PROGRESS}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.REOPENED: frozenset({S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN, S.RESOLVED, S.TRANSFERRED, S.REFUSED,
                           S.REFERRED, S.MEDIATION}),
    S.REFUSED: frozenset({S.REOPENED, S.CLOSED}),
    S.REFERRED: frozenset({S.REOPENED, S.CLOSED}),
    S.CLOSED: frozenset({S.REOPENED}),
})

# Open: the commune still owes the citizen something; each open ticket is in one office's plan.
OPEN_STATUSES = frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN, S.TRANSFERRED, S.REOPENED,
                           S.MEDIATION})
# Active: an office has taken it up (thụ lý) and is working on it.
ACTIVE_STATUSES = frozenset({S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN, S.REOPENED, S.MEDIATION})
# Closed: the commune's handling has ended, one way or another.
RESOLVED_STATUSES = frozenset({S.RESOLVED, S.CLOSED})
NOT_COMPETENT_STATUSES = frozenset({S.REFUSED, S.REFERRED})     # guided elsewhere / referred outside
CLOSED_STATUSES = RESOLVED_STATUSES | NOT_COMPETENT_STATUSES

OPEN = tuple(sorted(str(s) for s in OPEN_STATUSES))               # for SQL IN (...) lists
CLOSED = tuple(sorted(str(s) for s in CLOSED_STATUSES))

assert OPEN_STATUSES | CLOSED_STATUSES == frozenset(S) and not OPEN_STATUSES & CLOSED_STATUSES


# The events whose note is what the citizen was told when the case ended (the answer as sent).
ANSWER_ACTIONS = frozenset({"resolved", "refused", "referred", "mediation_success"})


class _Event(Protocol):
    at: datetime
    action: str
    to_status: str | None
    note: str


E = TypeVar("E", bound=_Event)


def final_answer(events: Sequence[E]) -> E | None:
    """The event that told the citizen how the case ended (answer, refusal with guidance, referral
    outside, mediation agreement): the latest one still standing, or None while the case is open.
    A survey's closing event is not an answer."""
    for event in reversed(events):
        if event.to_status == "reopened":
            return None
        if event.action in ANSWER_ACTIONS and event.note:
            return event
    return None


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow."""


def check_transition(current: str, target: str) -> None:
    """Raise IllegalTransition unless `current` may become `target`."""
    if S(target) not in TRANSITIONS.get(S(current), frozenset()):
        raise IllegalTransition(f"{current} -> {target} is not allowed")
