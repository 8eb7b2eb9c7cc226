"""A write-ahead note of deliveries: a crash between a channel's answer and the "sent" commit no
longer sends the message again.

Telegram and Zalo take no idempotency key, so the moment between a channel's answer and the
outbox commit is where a crash duplicates a message. The commit waits its turn behind other
writers (tens of milliseconds under load); appending a row id to a local file takes microseconds,
and what a killed process appended survives in the operating system's page cache (only a machine
crash loses it, and then only this protection against duplicates, never a message).

On start the sender replays the journal: rows noted as delivered are marked sent before anything
is claimed. The file is emptied whenever every noted row has been committed, so it stays tiny.
Outbox row ids only: no personal data is written. One journal per instance (its own path).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class DeliveryJournal:
    """Append-only file of outbox ids delivered but perhaps not yet marked sent."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._open: set[int] = set()

    def noted(self) -> list[int]:
        """Row ids a previous run noted (a torn last line from a crash mid-write is ignored)."""
        try:
            lines = self.path.read_text(encoding="ascii", errors="replace").splitlines()
        except FileNotFoundError:
            return []
        return sorted({int(line) for line in lines if line.strip().isdigit()})

    def note(self, row_id: int) -> None:
        """Record a delivery the moment the channel confirms it (called on the event loop)."""
        os.write(self._fd, f"{row_id}\n".encode("ascii"))
        self._open.add(row_id)

    def committed(self, row_ids: list[int] | tuple[int, ...]) -> None:
        """These rows are marked sent in the database: forget them; empty the file when none is left."""
        self._open.difference_update(row_ids)
        if not self._open:
            os.ftruncate(self._fd, 0)

    def clear(self) -> None:
        self._open.clear()
        os.ftruncate(self._fd, 0)

    def close(self) -> None:
        try:
            os.close(self._fd)
        except OSError:
            pass
