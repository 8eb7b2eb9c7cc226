"""The satisfaction question after a resolution (5 points, satisfied = 4–5), the optional comment,
"not solved, send again" (reopen + escalate to the head), the reminder after a few days and the
automatic closing. `due_survey_actions` is pure over the database and `now`, for the scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.tickets.context import TicketStep
from bot.tickets import tokens as action_tokens
from bot.tickets import cards
from bot.conversation.engine import Turn, load_data, store_data
from bot.tickets.citizen_notices import notify_citizen, recipients
from bot.core.domain import Button, Channel, Outgoing, Reply, TicketStatus as S, TicketType, is_satisfied
from bot.tickets.office_posts import post_to_office
from bot.tickets.records import change_status, local_date, record_event, record_refusal
from storage.conversations import load_conversation
from storage.engine import write_session
from storage.models import SatisfactionSurvey, Ticket
from storage.officials import heads_of_office, lock_ticket
from storage.outbox import enqueue_message
from storage.surveys import last_round, latest_survey, surveys_asked_since, surveys_due, surveys_in_status

RATINGS = (1, 2, 3, 4, 5)
CITIZEN_ACTIONS = ("rate:", "reopen", "skip_comment")
COMMENT_WINDOW = timedelta(days=1)
APPEAL_DAYS = 30           # Luật Khiếu nại 2011 art. 33: second instance within 30 days (45 in remote areas)


def _rating_buttons(ctx: TicketStep, ticket: Ticket, channel: str, chat_id: str) -> tuple[tuple[Button, ...], ...]:
    key = f"{channel}:{chat_id}"
    return tuple((Button(ctx.texts.label(f"rate_{n}"),
                         action_tokens.payload_for(ctx.session, ticket_id=ticket.id, action=f"rate:{n}",
                                                   chat_key=key, now=ctx.now)),) for n in RATINGS)


def start_survey(ctx: TicketStep, ticket: Ticket) -> SatisfactionSurvey:
    """Open a new round of the question and send it with five buttons to every chat of the citizen."""
    last = last_round(ctx.session, ticket.id)
    for old in surveys_in_status(ctx.session, ticket.id, "pending"):
        old.status = "expired"
    survey = SatisfactionSurvey(ticket_id=ticket.id, round=int(last or 0) + 1, asked_at=ctx.now)
    ctx.session.add(survey)
    ctx.session.flush()
    ask(ctx, ticket, reminder=False)
    return survey


def ask(ctx: TicketStep, ticket: Ticket, *, reminder: bool) -> None:
    """Send the question; a citizen without buttons (console) may answer with the button's number."""
    def buttons_for(channel: str, chat_id: str) -> tuple[tuple[Button, ...], ...]:
        rows = _rating_buttons(ctx, ticket, channel, chat_id)
        remember_numbers(ctx, ticket, channel, [b.payload for row in rows for b in row])
        return rows

    notify_citizen(ctx, ticket, "citizen/survey_ask", reminder=reminder, buttons_for=buttons_for)


def remember_numbers(ctx: TicketStep, ticket: Ticket, channel: str, payloads: list[str]) -> None:
    """Store the survey buttons in the citizen's conversation so '1'..'5' typed on the console count."""
    for rc_channel, chat_id, user_id in recipients(ctx.session, ticket):
        if rc_channel != channel or not user_id:
            continue
        conversation = load_conversation(ctx.session, channel=channel, user_id=user_id, chat_id=chat_id, now=ctx.now)
        data = load_data(conversation)
        data["survey_buttons"] = payloads
        store_data(conversation, data, ctx.now)


def number_to_payload(turn: Turn) -> str | None:
    """A digit typed right after survey buttons were shown means that button."""
    text = (turn.inbound.text or "").strip()
    payloads = turn.data.get("survey_buttons")
    if turn.inbound.payload is not None or not text.isdigit() or not payloads or "draft" in turn.data:
        return None
    index = int(text) - 1
    return payloads[index] if 0 <= index < len(payloads) else None


def appeal_by(settings: Any, ticket: Ticket) -> date | None:
    """Last day to complain at the second instance (30 days from the first-instance result)."""
    if ticket.type != TicketType.KHIEU_NAI or ticket.resolved_at is None:
        return None
    return local_date(settings, ticket.resolved_at) + timedelta(days=APPEAL_DAYS)


def handle_citizen_token(turn: Turn, raw: str) -> bool:
    """A citizen's survey button (or its payload typed as text); False when it is not one of ours."""
    token = action_tokens.lookup(turn.session, raw)
    if token is None or not token.action.startswith(CITIZEN_ACTIONS):
        return False
    chat_key = f"{turn.inbound.channel}:{turn.inbound.chat_id}"
    ticket = lock_ticket(turn.session, token.ticket_id)
    turn.data.pop("survey_buttons", None)
    if token.chat_key != chat_key or ticket is None:
        # Someone else's survey button (forwarded, forged): refused like any other button, and audited.
        record_refusal(turn.session, actor=f"citizen:{turn.inbound.channel}", action=token.action,
                       reason="token_other_chat", now=turn.now, ticket_id=ticket.id if ticket else None,
                       where=f"chat={chat_key}")
        turn.replies.append(Reply(text=turn.texts.render("citizen/stale_button")))
        return True
    if token.action.startswith("rate:"):
        rate(turn, ticket, int(token.action.split(":", 1)[1]))
    elif token.action == "reopen":
        reopen(turn, ticket)
    else:
        turn.data.pop("survey_comment", None)
        turn.replies.append(Reply(text=turn.texts.render("citizen/survey_comment_skipped")))
    return True


def rate(turn: Turn, ticket: Ticket, rating: int) -> None:
    """Record the rating; 3–5 closes the ticket, 1–2 offers to send it back."""
    survey = latest_survey(turn.session, ticket.id)
    if survey is None or survey.status != "pending" or rating not in RATINGS:
        turn.replies.append(Reply(text=turn.texts.render("citizen/survey_already", code=ticket.code)))
        return
    survey.rating, survey.status, survey.answered_at = rating, "answered", turn.now
    record_event(turn.session, ticket, actor=f"citizen:{turn.inbound.channel}", action="survey", now=turn.now,
                 note=f"rating={rating}")
    low = rating <= 2
    if not low and str(ticket.status) == S.RESOLVED:
        change_status(turn.session, ticket, S.CLOSED, actor=f"citizen:{turn.inbound.channel}", action="closed",
                      now=turn.now, note="survey")
        ticket.closed_at = turn.now
        for message in cards.refresh_cards(turn, ticket):
            turn.notify(message)
    key = f"{turn.inbound.channel}:{turn.inbound.chat_id}"
    rows: list[tuple[Button, ...]] = []
    if low:
        rows.append((Button(turn.texts.label("survey_reopen"),
                            action_tokens.payload_for(turn.session, ticket_id=ticket.id, action="reopen",
                                                      chat_key=key, now=turn.now)),))
    rows.append((Button(turn.texts.label("survey_skip_comment"),
                        action_tokens.payload_for(turn.session, ticket_id=ticket.id, action="skip_comment",
                                                  chat_key=key, now=turn.now)),))
    turn.data["survey_comment"] = {"survey_id": survey.id, "at": turn.now.isoformat()}
    turn.data["survey_buttons"] = [b.payload for row in rows for b in row]
    turn.replies.append(Reply(text=turn.texts.render("citizen/survey_thanks", code=ticket.code, rating=rating,
                                                     low=low, appeal_by=appeal_by(turn.settings, ticket)),
                              buttons=tuple(rows)))


def take_comment(turn: Turn) -> bool:
    """The citizen's text right after rating is the optional comment."""
    pending = turn.data.get("survey_comment")
    text = (turn.inbound.text or "").strip()
    if not isinstance(pending, dict) or not text or turn.inbound.payload is not None or text.startswith("/"):
        return False
    try:
        fresh = turn.now - datetime.fromisoformat(pending["at"]) <= COMMENT_WINDOW
    except (KeyError, ValueError):
        fresh = False
    turn.data.pop("survey_comment", None)
    survey = turn.session.get(SatisfactionSurvey, pending.get("survey_id"))
    if not fresh or survey is None:
        return False
    survey.comment = text[:2000]
    turn.data.pop("survey_buttons", None)
    turn.replies.append(Reply(text=turn.texts.render("citizen/survey_comment_thanks")))
    return True


def reopen(turn: Turn, ticket: Ticket) -> None:
    """"Chưa được giải quyết, gửi lại": reopen and put it before the office's head."""
    if str(ticket.status) not in (S.RESOLVED, S.CLOSED):
        turn.replies.append(Reply(text=turn.texts.render("citizen/reopen_not_possible", code=ticket.code)))
        return
    change_status(turn.session, ticket, S.REOPENED, actor=f"citizen:{turn.inbound.channel}", action="reopened",
                  now=turn.now, note="citizen: not solved")
    ticket.closed_at = None
    turn.data.pop("survey_comment", None)
    for message in cards.refresh_cards(turn, ticket):
        turn.notify(message)
    escalate_to_heads(turn, ticket)
    turn.replies.append(Reply(text=turn.texts.render("citizen/reopened", code=ticket.code,
                                                     appeal_by=appeal_by(turn.settings, ticket))))


def escalate_to_heads(ctx: TicketStep, ticket: Ticket) -> None:
    """Tell the office group and, privately, every head of the office, with the card to act on."""

    post_to_office(ctx, ticket, "office/reopened")
    for head in heads_of_office(ctx.session, ticket.office_code):
        ctx.notify(Outgoing(channel=Channel(head.channel), chat_id=head.user_id,
                            reply=Reply(text=ctx.texts.render("office/reopened", code=ticket.code)),
                            ticket_code=ticket.code))
        ctx.notify(cards.show_card(ctx, ticket, channel=head.channel, chat_id=head.user_id))


# --- scheduler side ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SurveyAction:
    """Something due for one survey: ask again, or close the resolved ticket."""

    survey_id: int
    ticket_id: int
    kind: str            # remind | close


def due_survey_actions(session: Session, now: datetime, *, remind_after_days: int,
                       close_after_days: int) -> list[SurveyAction]:
    """What is due at `now`: unanswered questions older than the reminder period get one reminder;
    resolved tickets whose question is older than the closing period close (unless sent back)."""
    remind_before = now - timedelta(days=remind_after_days)
    close_before = now - timedelta(days=close_after_days)
    rows = surveys_due(session, statuses=["pending", "answered"], ticket_status=str(S.RESOLVED),
                       asked_before=remind_before)
    actions = []
    for survey, ticket in rows:
        if survey.asked_at <= close_before:
            actions.append(SurveyAction(survey.id, ticket.id, "close"))
        elif survey.status == "pending" and survey.reminded_at is None:
            actions.append(SurveyAction(survey.id, ticket.id, "remind"))
    return actions


@dataclass
class JobContext:
    """The collaborators a scheduled job's step uses (same shape the cards and notices expect)."""

    session: Session
    settings: Any
    texts: Any
    now: datetime
    services: Any
    outgoing: list[Outgoing] = field(default_factory=list)

    def notify(self, message: Outgoing) -> None:
        self.outgoing.append(message)


def run_due_survey_actions(services: Any, now: datetime | None = None) -> dict[str, int]:
    """Carry out what is due in one transaction (reminders and closings, with their outbox rows)."""
    now = now or services.clock.now()
    settings = services.settings
    done = {"remind": 0, "close": 0}
    with write_session(services.engine) as session:
        ctx = JobContext(session=session, settings=settings, texts=services.texts, now=now, services=services)
        for action in due_survey_actions(session, now, remind_after_days=settings.surveys.remind_after_days,
                                         close_after_days=settings.surveys.close_after_days):
            ticket = lock_ticket(session, action.ticket_id)
            survey = session.get(SatisfactionSurvey, action.survey_id)
            if ticket is None or survey is None or str(ticket.status) != S.RESOLVED:
                continue
            if action.kind == "remind":
                survey.reminded_at = now
                ask(ctx, ticket, reminder=True)
            else:
                if survey.status == "pending":
                    survey.status = "expired"
                change_status(session, ticket, S.CLOSED, actor="system", action="auto_closed", now=now,
                              note=f"survey round {survey.round}")
                ticket.closed_at = now
                for message in cards.refresh_cards(ctx, ticket):
                    ctx.notify(message)
            done[action.kind] += 1
        for message in ctx.outgoing:
            enqueue_message(session, channel=str(message.channel), chat_id=message.chat_id,
                            payload={**message.reply.to_json(), **message.extra}, now=now,
                            ticket_code=message.ticket_code)
    return done


def satisfaction_stats(session: Session, *, since: datetime | None = None) -> dict[str, float | int]:
    """Satisfaction = share of answers at 4–5; response rate = answered / asked."""
    surveys = surveys_asked_since(session, since)
    asked = len(surveys)
    answered = [s for s in surveys if s.rating is not None]
    satisfied = sum(1 for s in answered if is_satisfied(s.rating))
    return {"asked": asked, "answered": len(answered), "satisfied": satisfied,
            "satisfaction": round(satisfied / len(answered), 4) if answered else 0.0,
            "response_rate": round(len(answered) / asked, 4) if asked else 0.0}
