"""`danvan chat`: the citizen conversation in a terminal, through the same core and outbox."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

from bot.core.domain import Channel, Inbound
from bot.service.transactions import Service, Services
from notifications.console.sender import ConsoleSender
from notifications.outbox.sender import OutboxSender


async def run_console(services: Services, *, user_id: str = "console", stdin: TextIO | None = None,
                      stdout: TextIO | None = None, banner: str = "") -> None:
    """Read lines, hand each to the core, print what the outbox holds for this terminal."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    sender = OutboxSender(services.engine, services.clock, {"console": ConsoleSender(stdout)}, poll_interval=0.1,
                          only_chats={user_id})   # several terminals (citizen, official) share one database
    service = Service(services)
    if banner:
        stdout.write(banner + "\n\n")
    await sender.drain_once()          # anything left from a previous session
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
            if line.strip().lower() in ("/thoat", "/quit", "/exit"):
                return
        inbound = Inbound(channel=Channel.CONSOLE, user_id=user_id, chat_id=user_id,
                          external_id=uuid.uuid4().hex, text=line)
        await asyncio.to_thread(service.handle_inbound, inbound)
        await sender.drain_once()
