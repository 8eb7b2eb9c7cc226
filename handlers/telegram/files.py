"""Keeps a local copy of the photos and files citizens send on Telegram (file ids can expire).

Runs after commit, outside any transaction: find attachments without a stored copy, download
them within the size limit under generated names, record the path.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine
from telegram import Bot
from telegram.error import TelegramError

from bot.intake.attachments import check_attachment
from storage.engine import read_session, write_session
from storage.attachments import pending_downloads, record_stored_copy

log = logging.getLogger(__name__)
SKIPPED_TOO_LARGE = "skipped:too-large"
SKIPPED_UNAVAILABLE = "skipped:unavailable"


def _pending(engine: Engine, limit: int) -> list[tuple[int, str, str, str, int, str]]:
    """Telegram attachments with no stored copy and no verdict yet."""
    with read_session(engine) as session:
        return pending_downloads(session, channel="telegram", limit=limit)


def _record(engine: Engine, attachment_id: int, path: str, size: int | None = None) -> None:
    with write_session(engine) as session:
        record_stored_copy(session, attachment_id, path, size)


async def store_attachments(bot: Bot, engine: Engine, *, directory: str | Path, max_bytes: int,
                            limit: int = 50, on_refused: Callable[[str, str], None] | None = None) -> int:
    """Download attachments that have no local copy yet; returns how many were stored."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stored = 0
    for attachment_id, ref, kind, mime, size, code in await asyncio.to_thread(_pending, engine, limit):
        if size and size > max_bytes:
            await asyncio.to_thread(_record, engine, attachment_id, SKIPPED_TOO_LARGE)
            continue
        try:
            remote = await bot.get_file(ref)
            if remote.file_size and remote.file_size > max_bytes:
                await asyncio.to_thread(_record, engine, attachment_id, SKIPPED_TOO_LARGE)
                continue
            data = bytes(await remote.download_as_bytearray())
        except TelegramError as exc:
            log.warning("attachment %s of %s not downloaded: %s", attachment_id, code, exc)
            await asyncio.to_thread(_record, engine, attachment_id, SKIPPED_UNAVAILABLE)
            continue
        checked = await asyncio.to_thread(check_attachment, kind, data, max_bytes=max_bytes)
        if not checked.ok:
            log.info("attachment %s of %s refused: %s", attachment_id, code, checked.reason)
            await asyncio.to_thread(_record, engine, attachment_id, f"refused:{checked.reason}")
            if on_refused is not None:
                await asyncio.to_thread(on_refused, code, checked.reason)
            continue
        # A generated name: nothing the sender chose (a path, a name) reaches the file system.
        path = folder / f"{code}-{uuid.uuid4().hex[:12]}{checked.extension}"
        await asyncio.to_thread(path.write_bytes, checked.data)
        await asyncio.to_thread(_record, engine, attachment_id, str(path), len(checked.data))
        stored += 1
    return stored
