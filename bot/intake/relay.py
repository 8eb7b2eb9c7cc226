"""The citizen's answer to an information request, relayed to the office that asked (text and
photos), so neither side ever needs the other's personal account."""

from __future__ import annotations


from bot.conversation.engine import Turn
from bot.core.domain import Attachment, TicketStatus as S
from bot.core.lifecycle import TRANSITIONS
from bot.language.normalize import normalize_text
from bot.tickets.office_posts import after_change, post_to_office
from bot.tickets.records import change_status
from storage.models import TicketAttachment
from storage.officials import lock_ticket


def take_info_answer(turn: Turn) -> bool:
    """When an office is waiting for this citizen, their message is the answer; False otherwise."""
    pending = turn.data.get("info_request")
    inbound = turn.inbound
    if not isinstance(pending, dict) or inbound.payload is not None or "draft" in turn.data:
        return False
    text = (inbound.text or "").strip()
    if text.startswith("/") or not (text or inbound.attachments):
        return False
    ticket = lock_ticket(turn.session, int(pending.get("ticket_id") or 0))
    if ticket is None or str(ticket.status) != S.WAITING_CITIZEN:
        turn.data.pop("info_request", None)
        return False
    turn.data.pop("info_request", None)
    clean, _ = normalize_text(text, max_chars=turn.settings.intake.max_text_chars) if text else ("", False)
    for item in inbound.attachments:
        turn.session.add(TicketAttachment(ticket_id=ticket.id, kind=item.kind, ref=item.ref, mime=item.mime,
                                          size=item.size, created_at=turn.now))
    back_to = S(pending.get("back_to") or S.RECEIVED)
    if back_to == S.WAITING_CITIZEN or back_to not in TRANSITIONS[S.WAITING_CITIZEN]:
        back_to = S.IN_PROGRESS if ticket.accepted_at else S.RECEIVED
    if back_to in (S.TRANSFERRED, S.REOPENED):
        back_to = S.RECEIVED
    change_status(turn.session, ticket, back_to, actor=f"citizen:{inbound.channel}", action="citizen_answered",
                  now=turn.now, note=clean)

    post_to_office(turn, ticket, "office/citizen_answer", text=clean, photos=len(inbound.attachments),
                   attachments=tuple(Attachment(kind=a.kind, ref=a.ref) for a in inbound.attachments),
                   attachments_channel=str(inbound.channel))
    after_change(turn, ticket)
    turn.say("citizen/info_answer_received", code=ticket.code)
    return True
