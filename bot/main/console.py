"""The terminal chat wired up: the console edge (handlers.console) with the outbox sender printing to stdout."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.service.transactions import Service, Services
from handlers.console import console_loop
from notifications.console.sender import ConsoleSender
from notifications.outbox.sender import OutboxSender


async def run_console(services: Services, *, user_id: str = "console", stdin: TextIO | None = None,
                      stdout: TextIO | None = None, banner: str = "") -> None:
    """Read lines, hand each to the core, print what the outbox holds for this terminal."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    sender = OutboxSender(services.engine, services.clock, {"console": ConsoleSender(stdout)}, poll_interval=0.1,
                          only_chats={user_id})   # several terminals (citizen, official) share one database
    await console_loop(Service(services), sender.drain_once, user_id=user_id, stdin=stdin, stdout=stdout,
                       banner=banner)
