"""The citizen's side of announcements: the one-time offer after a first ticket, /dangkytin, /huytin."""

from __future__ import annotations

from bot.conversation.engine import Choice, Turn
from storage.subscriptions import offer_needed, set_subscription, subscription


def should_offer(turn: Turn) -> bool:
    """Right after a ticket, to a consenting citizen never asked before."""
    return bool(turn.tickets_created) and bool(turn.citizen.consent) and offer_needed(turn.session, turn.citizen.id)


def prompt_notices_offer(turn: Turn) -> None:
    # Asked once: recorded now as "not subscribed" until they say yes.
    set_subscription(turn.session, citizen_id=turn.citizen.id, subscribed=False, now=turn.now)
    turn.say("citizen/notices_offer", choices=[Choice("yes", turn.texts.label("notices_yes")),
                                               Choice("no", turn.texts.label("notices_no"))])


def choose_notices_offer(turn: Turn, value: str) -> None:
    set_subscription(turn.session, citizen_id=turn.citizen.id, subscribed=value == "yes", now=turn.now)
    turn.say("citizen/notices_on" if value == "yes" else "citizen/notices_off")
    turn.goto("menu")


def notices_command(turn: Turn, *, subscribe: bool) -> None:
    """/dangkytin or /huytin at any step."""
    if subscribe and not turn.citizen.consent:
        turn.say("citizen/notices_need_consent")
        return
    if turn.citizen.id and (subscribe or subscription(turn.session, turn.citizen.id) is not None):
        set_subscription(turn.session, citizen_id=turn.citizen.id, subscribed=subscribe, now=turn.now)
    turn.say("citizen/notices_on" if subscribe else "citizen/notices_off")
