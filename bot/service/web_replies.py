"""The web chat's side of the outbox: the browser pulls its chat's rows, and a row counts as sent
when the browser has fetched it (there is no push connection to deliver to).

A row is shown as written once only: when it is first fetched, its stored text loses the ticket
PIN ("chỉ hiện một lần") and phone numbers, so a reload, or the next person at a shared computer,
never sees them again. "Kết thúc phiên" erases the chat's transcript."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.codes import CODE_RE, normalize_code
from bot.core.domain import Reply
from bot.core.pins import check_pin
from bot.language.phones import mask_phones
from storage.engine import read_session, write_session
from storage.conversations import conversation_exists, conversations_of
from storage.outbox import chat_rows, chat_rows_after, erase_payload, mark_fetched
from storage.tickets import find_ticket

CHANNEL = "web"
SIX_DIGITS_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")
HIDDEN_PIN = "••••••"
SHOWN_STATUSES = ("pending", "sent")        # rows the browser may still show (not erased, not failed)


@dataclass(frozen=True)
class WebMessage:
    id: int
    reply: Reply


def fetch_replies(engine: Engine, chat_id: str, *, after: int, now: datetime, limit: int = 100) -> list[WebMessage]:
    """This chat's messages with id > after, oldest first; pending ones are marked sent."""
    with read_session(engine) as session:
        rows = chat_rows_after(session, channel=CHANNEL, chat_id=chat_id, after=after, statuses=list(SHOWN_STATUSES),
                               limit=limit)
    pending = [r.id for r in rows if r.status == "pending"]
    if pending:
        with write_session(engine) as session:
            for row in mark_fetched(session, pending, now=now):
                payload = json.loads(row.payload)
                text = str(payload.get("text", ""))
                shown_once = mask_phones(redact_pins(session, text))
                if shown_once != text:
                    row.payload = json.dumps({**payload, "text": shown_once}, ensure_ascii=False)
    return [WebMessage(int(r.id or 0), Reply.from_json(json.loads(r.payload))) for r in rows]


def conversation_started(engine: Engine, user_id: str) -> bool:
    """True when this web user has talked to the core before."""
    with read_session(engine) as session:
        return conversation_exists(session, channel=CHANNEL, user_id=user_id)


def redact_pins(session: Session, text: str) -> str:
    """`text` without the PIN of any ticket it names (the PIN is recognised by its hash)."""
    for code in {normalize_code(m.group(0)) or "" for m in CODE_RE.finditer(text)} - {""}:
        ticket = find_ticket(session, code)
        if ticket is None or not ticket.pin_hash:
            continue
        text = SIX_DIGITS_RE.sub(lambda m: HIDDEN_PIN if check_pin(code, m.group(0), ticket.pin_hash)
                                 else m.group(0), text)
    return text


def erase_transcript(engine: Engine, chat_id: str) -> int:
    """Kết thúc phiên: every row of this web chat is erased (nothing left to serve to anyone), and
    the conversation's state with any unsent draft (name, phone) is forgotten."""
    with write_session(engine) as session:
        rows = chat_rows(session, channel=CHANNEL, chat_id=chat_id)
        for row in rows:
            erase_payload(row)
        for conversation in conversations_of(session, channel=CHANNEL, user_id=chat_id):
            conversation.data, conversation.step = "{}", ""
    return len(rows)
