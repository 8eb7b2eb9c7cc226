"""Uploaded files on disk: kept only when attached to a submitted petition. A web photo that no
ticket refers to is removed once older than the orphan time (and the web session it came with
has expired, so no draft can still be sent with it). Also the uploads' total size, for the ceiling."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from storage.attachments import refs_starting_with
from storage.engine import read_session

log = logging.getLogger(__name__)
WEB_PREFIX = "web:"


def web_folder(attachments_dir: str | Path) -> Path:
    return Path(attachments_dir) / "web"


def upload_name(now: datetime, extension: str) -> str:
    """A new upload's file name: when it was stored (hex epoch seconds, by the injected clock) and a
    random part, so the orphan sweep needs no file-system time."""
    return f"{int(now.timestamp()):x}-{secrets.token_hex(16)}{extension}"


def stored_at(path: Path) -> float:
    """When an upload was stored: from its name, else the file's modification time."""
    stamp = path.name.split("-", 1)[0]
    if "-" in path.name and 6 <= len(stamp) <= 12:
        try:
            return float(int(stamp, 16))
        except ValueError:
            pass
    return path.stat().st_mtime


def folder_bytes(folder: Path) -> int:
    """Total size of the files under `folder` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total


def attached_web_files(engine: Engine) -> set[str]:
    """File names of web photos that belong to a ticket."""
    with read_session(engine) as session:
        refs = refs_starting_with(session, WEB_PREFIX)
        return {ref.removeprefix(WEB_PREFIX) for ref in refs}


def remove_orphan_uploads(engine: Engine, folder: Path, *, now: datetime, older_than: timedelta) -> int:
    """Delete web uploads older than `older_than` that no ticket refers to; how many were deleted."""
    if not folder.is_dir():
        return 0
    cutoff = (now - older_than).timestamp()
    candidates = [p for p in folder.iterdir() if p.is_file() and stored_at(p) < cutoff]
    if not candidates:
        return 0
    attached = attached_web_files(engine)
    removed = 0
    for path in candidates:
        if path.name in attached:
            continue
        try:
            path.unlink()
            removed += 1
        except OSError:
            log.warning("could not remove an orphan upload")
    if removed:
        log.info("uploads: %d orphan files removed", removed)
    return removed
