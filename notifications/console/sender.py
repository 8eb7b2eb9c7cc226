"""Prints replies for the terminal chat: plain text, buttons as a numbered list."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.core.domain import Reply
from bot.core.render import html_to_plain


def render_console(reply: Reply) -> str:
    """Plain text with the choices numbered, as the person answers them with a digit."""
    lines = [html_to_plain(reply.text)]
    buttons = [b for row in reply.buttons for b in row]
    if buttons:
        lines.append("")
        lines.extend(f"  {i}. {html_to_plain(b.label)}" for i, b in enumerate(buttons, start=1))
    return "\n".join(lines)


class ConsoleSender:
    """The terminal channel behind the outbox."""

    channel = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def min_interval(self, chat_id: str) -> float:
        return 0.0

    async def send(self, chat_id: str, reply: Reply) -> None:
        self.out.write(render_console(reply) + "\n\n")
        self.out.flush()
