"""Ticket lifecycle: which status may follow which. The core refuses anything else."""

from __future__ import annotations

from types import MappingProxyType

from bot.core.domain import TicketStatus as S

TRANSITIONS: dict[S, frozenset[S]] = MappingProxyType({
    S.RECEIVED: frozenset({S.ACCEPTED, S.TRANSFERRED, S.REFUSED, S.WAITING_CITIZEN}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.WAITING_CITIZEN, S.RESOLVED, S.TRANSFERRED, S.REFUSED}),
    S.IN_PROGRESS: frozenset({S.WAITING_CITIZEN, S.RESOLVED, S.TRANSFERRED, S.REFUSED}),
    S.WAITING_CITIZEN: frozenset({S.IN_PROGRESS, S.ACCEPTED, S.RECEIVED, S.RESOLVED, S.REFUSED}),
    S.TRANSFERRED: frozenset({S.RECEIVED, S.ACCEPTED, S.WAITING_CITIZEN, S.REFUSED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.REOPENED: frozenset({S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN, S.RESOLVED, S.TRANSFERRED, S.REFUSED}),
    S.REFUSED: frozenset({S.REOPENED, S.CLOSED}),
    S.CLOSED: frozenset({S.REOPENED}),
})

OPEN_STATUSES = frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN, S.TRANSFERRED, S.REOPENED})


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow."""


def check_transition(current: str, target: str) -> None:
    """Raise IllegalTransition unless `current` may become `target`."""
    if S(target) not in TRANSITIONS.get(S(current), frozenset()):
        raise IllegalTransition(f"{current} -> {target} is not allowed")
