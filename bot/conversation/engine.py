"""The conversation engine: one state machine for every channel.

A flow is a set of named steps. Each step can prompt (text + choices) and react to a choice,
free text, media, a location or a contact. The engine resolves what the person did — a button
payload, a button's label typed out, the digit of a numbered choice, or a Zalo payload that
arrives as text — into the same answer, and detects stale buttons by a prompt version that
travels inside every payload. State lives in the `conversations` row, written in the same
transaction as the step's effects, so a restart resumes exactly where the person was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Button, ButtonKind, Inbound, Outgoing, Reply
from bot.core.services import Services
from bot.language.normalize import fold
from bot.core.render import Texts
from bot.tickets.records import Draft
from storage.models import Citizen, Conversation

PAYLOAD_RE = re.compile(r"^([0-9]{1,9}):([A-Za-z0-9_.\-]{1,48})$")


@dataclass(frozen=True)
class Choice:
    """One answer a prompt offers: the value the step receives and the label the person sees."""

    value: str
    label: str
    kind: ButtonKind = ButtonKind.PAYLOAD


@dataclass
class Turn:
    """Everything a step handler may read or change while handling one inbound event."""

    session: Session
    settings: Settings
    texts: Texts
    now: datetime
    inbound: Inbound
    conversation: Conversation
    citizen: Citizen
    services: Services                              # classifier, calendar...
    data: dict[str, Any] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    next_step: str | None = None
    tickets_created: list[str] = field(default_factory=list)

    @property
    def step(self) -> str:
        return self.conversation.step

    @property
    def draft(self) -> Draft:
        return Draft.from_json(self.data.get("draft"))

    def save_draft(self, draft: Draft) -> None:
        self.data["draft"] = draft.to_json()

    def say(self, template: str, /, *, choices: list[Choice] | None = None, columns: int = 1,
            remove_keyboard: bool = False, **context: Any) -> None:
        """Queue a reply to the person; with choices it becomes the active prompt."""
        text = self.texts.render(template, **context)
        buttons: tuple[tuple[Button, ...], ...] = ()
        if choices:
            self.conversation.version += 1
            version = self.conversation.version
            self.data["choices"] = [[c.value, c.label] for c in choices]
            flat = [Button(c.label, f"{version}:{c.value}", c.kind) for c in choices]
            buttons = tuple(tuple(flat[i:i + columns]) for i in range(0, len(flat), columns))
        self.replies.append(Reply(text=text, buttons=buttons, remove_keyboard=remove_keyboard))

    def merged_replies(self) -> list[Reply]:
        """The replies to send, with plain texts folded into the next message (fewer, calmer messages)."""
        merged: list[Reply] = []
        for reply in self.replies:
            previous = merged[-1] if merged else None
            if previous is not None and not previous.buttons and not previous.attachments \
                    and not previous.force_reply and not reply.attachments \
                    and not (previous.remove_keyboard and reply.buttons) \
                    and len(previous.text) + len(reply.text) < 3500:
                merged[-1] = replace(reply, text=f"{previous.text}\n\n{reply.text}",
                                     remove_keyboard=previous.remove_keyboard or reply.remove_keyboard)
            else:
                merged.append(reply)
        return merged

    def goto(self, step: str) -> None:
        """Move to `step`; its prompt is shown at the end of the turn."""
        self.next_step = step

    def notify(self, message: Outgoing) -> None:
        """Queue a message to someone else (an office group, an official)."""
        self.outgoing.append(message)


@dataclass(frozen=True)
class Step:
    """Handlers of one step; any may be None (the engine then asks again politely)."""

    prompt: Callable[[Turn], None]
    on_choice: Callable[[Turn, str], None] | None = None
    on_text: Callable[[Turn, str], None] | None = None
    on_media: Callable[[Turn], None] | None = None
    on_location: Callable[[Turn], None] | None = None
    on_contact: Callable[[Turn], None] | None = None


class Flow:
    """A registry of steps by name."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}

    def step(self, name: str, step: Step) -> None:
        self.steps[name] = step


def resolve_choice(turn: Turn, *, text: str | None, payload: str | None) -> tuple[str, str | None]:
    """Map an input to ('choice', value) / ('stale', None) / ('none', None)."""
    choices: list[list[str]] = turn.data.get("choices") or []
    values = {value for value, _ in choices}
    raw = payload if payload is not None else (text or "").strip()
    match = PAYLOAD_RE.match(raw)
    if match:
        version, value = int(match.group(1)), match.group(2)
        if version == turn.conversation.version and value in values:
            return "choice", value
        return "stale", None
    if payload is not None:
        return "stale", None
    if not raw or not choices:
        return "none", None
    if raw.isdecimal() and 1 <= int(raw) <= len(choices):
        return "choice", choices[int(raw) - 1][0]
    folded = _fold_label(raw)
    for value, label in choices:
        if folded and folded == _fold_label(label):
            return "choice", value
    return "none", None


def _fold_label(text: str) -> str:
    """Fold a label for comparison: no accents, no emoji or punctuation."""
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())


def load_data(conversation: Conversation) -> dict[str, Any]:
    """The conversation's JSON data, tolerant of an empty or damaged column."""
    try:
        value = json.loads(conversation.data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def store_data(conversation: Conversation, data: dict[str, Any], now: datetime) -> None:
    """Write the data back to the row (the caller's transaction commits it)."""
    conversation.data = json.dumps(data, ensure_ascii=False)
    conversation.updated_at = now
