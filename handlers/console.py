"""`danvan chat`: the citizen (or official) conversation in a terminal, through the same core and outbox.

The edge only: read a line, hand it to the core, let the caller's `drain` print what the outbox holds.
The composition root (bot.main.console) builds the console sender and passes its drain in.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.core.domain import Channel, Inbound
from bot.service.transactions import Service

QUIT_WORDS = ("/thoat", "/quit", "/exit")


async def console_loop(service: Service, drain: Callable[[], Awaitable[object]], *, user_id: str, stdin: TextIO,
                       stdout: TextIO, banner: str = "") -> None:
    """Read lines until end of input or a quit word; each line is one inbound event of the console channel."""
    if banner:
        stdout.write(banner + "\n\n")
    await drain()          # anything left from a previous session
    first = True
    while True:
        if first:
            line: str | None = "/start"
            first = False
        else:
            stdout.write("> ")
            stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                stdout.write("\n")
                return
            line = line.rstrip("\n")
            if line.strip().lower() in QUIT_WORDS:
                return
        inbound = Inbound(channel=Channel.CONSOLE, user_id=user_id, chat_id=user_id,
                          external_id=uuid.uuid4().hex, text=line)
        await asyncio.to_thread(service.handle_inbound, inbound)
        await drain()
