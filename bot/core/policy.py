"""The one policy: who may see or do what on a ticket, and from which chat.

Every button press, command, search and list goes through :func:`can`; nothing else decides.
Status rules (can this ticket still be accepted?) live in bot/ticket_actions.py; this module
only answers "is this person, in this chat, allowed to do this to this ticket at all".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.domain import COMPLAINT_TYPES
from storage.models import Official, Ticket

ROLES = ("official", "head", "leader", "admin", "inspector", "mediator")
CASE_ROLES = frozenset({"official", "head", "leader"})
TICKET_ACTIONS = ("accept", "transfer", "request_info", "progress", "resolve", "extend", "refuse", "refer", "mediate",
                  "note")
# A hamlet's mediation team leader (role mediator, registered for one hamlet) works only on the
# disputes of that hamlet, in private chat: refer, assign mediators, record the outcome.
MEDIATOR_ACTIONS = frozenset({"mediate", "mediation_assign", "mediation_outcome"})
READ_ACTIONS = ("view", "history")
HEAD_ONLY = frozenset({"extend"})
LEADER_PRIVATE_ONLY = frozenset({"reveal_identity"})


@dataclass(frozen=True)
class ChatContext:
    """Where a request came from: a private chat, or an office's group chat (office_code set)."""

    channel: str
    chat_id: str
    is_private: bool
    office_code: str | None = None

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.chat_id}"


@dataclass(frozen=True)
class Decision:
    """The answer of the policy, with the reason recorded in the audit trail when refused."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def deny(reason: str) -> Decision:
    return Decision(False, reason)


def can(actor: Official | None, action: str, ticket: Ticket | None, chat: ChatContext) -> Decision:
    """May `actor` do `action` (on `ticket`, when given) from `chat`? Revoked or unknown people may not."""
    if actor is None:
        return deny("not_official")
    if not actor.active:
        return deny("revoked")
    if action == "register_group":
        return ALLOW if actor.role == "admin" and not chat.is_private else deny("role")
    if action == "record_paper":
        return ALLOW if actor.role in CASE_ROLES and chat.is_private else deny("role_or_chat")
    if action == "stats":
        return ALLOW if actor.role in ("leader", "inspector", "head", "official") else deny("role")
    if action == "search":
        return ALLOW if actor.role in CASE_ROLES else deny("role")
    if action == "list_own":
        return ALLOW if actor.role in CASE_ROLES else deny("role")
    if action == "list_office":
        if actor.role == "leader":
            return ALLOW
        if actor.role in ("official", "head"):
            if chat.is_private or chat.office_code == actor.office_code:
                return ALLOW
            return deny("wrong_chat")
        return deny("role")
    if actor.role == "mediator" or action in ("mediation_assign", "mediation_outcome"):
        return _mediator(actor, action, ticket, chat)
    if actor.role not in CASE_ROLES:
        return deny("role")                 # admin and inspector never see case content here
    if ticket is None:
        return deny("no_ticket")
    if action in LEADER_PRIVATE_ONLY:
        if actor.role != "leader":
            return deny("role")
        return ALLOW if chat.is_private else deny("wrong_chat")
    if action not in TICKET_ACTIONS and action not in READ_ACTIONS:
        return deny("unknown_action")
    if actor.role != "leader" and actor.office_code != ticket.office_code:
        return deny("other_office")
    if not chat.is_private and chat.office_code != ticket.office_code:
        return deny("wrong_chat")           # a card only acts in its own office's group
    if action in HEAD_ONLY and actor.role not in ("head", "leader"):
        return deny("role")
    return ALLOW


def _mediator(actor: Official, action: str, ticket: Ticket | None, chat: ChatContext) -> Decision:
    if actor.role != "mediator" or action not in MEDIATOR_ACTIONS:
        return deny("role")
    if ticket is None:
        return deny("no_ticket")
    if not actor.hamlet or ticket.hamlet != actor.hamlet:
        return deny("other_hamlet")
    if ticket.type in COMPLAINT_TYPES:
        return deny("not_mediable")
    return ALLOW if chat.is_private else deny("wrong_chat")


def visible_to(actor: Official, ticket: Ticket) -> bool:
    """Search and lists: whether the ticket may appear at all for this person (any chat of theirs)."""
    return bool(can(actor, "view", ticket, ChatContext(channel=actor.channel, chat_id="", is_private=True)))
