"""Renders a Reply for Telegram (HTML, inline or reply keyboards, split at 4096) and sends it."""

from __future__ import annotations

from pathlib import Path

from telegram import (Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton,
                      ReplyKeyboardMarkup, ReplyKeyboardRemove)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.domain import Attachment, ButtonKind, Reply
from notifications.channel import PermanentFailure, TemporaryFailure

TEXT_LIMIT = 4096


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line breaks (then spaces) so each part fits; our templates never span a tag over lines."""
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while utf16_len(line) > limit:
            cut = _cut_point(line, limit)
            parts.append(line[:cut])
            line = line[cut:].lstrip(" ")
        current = line
    if current:
        parts.append(current)
    return parts


def _cut_point(line: str, limit: int) -> int:
    """The longest prefix within `limit` UTF-16 units, preferring a space, never inside an entity."""
    end = 0
    units = 0
    for i, ch in enumerate(line):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            break
        end = i + 1
    amp = line.rfind("&", 0, end)
    if amp != -1 and ";" not in line[amp:end]:
        end = amp
    space = line.rfind(" ", 0, end)
    return space if space > end // 2 else end


def render_markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None:
    """Inline buttons normally; a reply keyboard when a button must request contact or location."""
    if not reply.buttons and reply.force_reply:
        return ForceReply(selective=True)
    if not reply.buttons:
        return ReplyKeyboardRemove() if reply.remove_keyboard else None
    if any(b.kind != ButtonKind.PAYLOAD for row in reply.buttons for b in row):
        rows = [[KeyboardButton(b.label, request_contact=b.kind == ButtonKind.REQUEST_CONTACT or None,
                                request_location=b.kind == ButtonKind.REQUEST_LOCATION or None) for b in row]
                for row in reply.buttons]
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
                                 for row in reply.buttons])


class TelegramSender:
    """The Telegram channel behind the outbox."""

    channel = "telegram"

    def __init__(self, bot: Bot, *, per_chat_interval: float = 1.0) -> None:
        self.bot = bot
        self.per_chat_interval = per_chat_interval

    def min_interval(self, chat_id: str) -> float:
        return self.per_chat_interval

    async def send(self, chat_id: str, reply: Reply) -> str:
        """Send (split when long); returns the id of the last part, the one that carries the buttons."""
        parts = split_text(reply.text or "…")
        markup = render_markup(reply)
        message_id = ""
        try:
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                sent = await self.bot.send_message(chat_id=int(chat_id), text=part, parse_mode=ParseMode.HTML,
                                                   reply_markup=markup if last else None)
                message_id = str(sent.message_id)
            for item in reply.attachments:
                if item.kind == "document" and item.path:   # a file written here (a report draft)
                    await self._send_document(chat_id, item)
                    continue
                if not item.ref:                            # photos and files relayed by Telegram file id
                    continue
                if item.kind == "photo":
                    await self.bot.send_photo(chat_id=int(chat_id), photo=item.ref)
                else:
                    await self.bot.send_document(chat_id=int(chat_id), document=item.ref)
        except TelegramError as exc:
            raise _failure(exc) from exc
        return message_id

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool:
        """Edit a card in place; False when the message is gone (the caller then sends a new one)."""
        markup = render_markup(reply)
        inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
        try:
            await self.bot.edit_message_text(chat_id=int(chat_id), message_id=int(message_ref),
                                             text=split_text(reply.text or "…")[0], parse_mode=ParseMode.HTML,
                                             reply_markup=inline)
        except BadRequest as exc:
            text = exc.message.lower()
            if "not modified" in text:
                return True
            if "not found" in text or "can't be edited" in text:
                return False
            raise _failure(exc) from exc
        except TelegramError as exc:
            raise _failure(exc) from exc
        return True


    async def _send_document(self, chat_id: str, attachment: Attachment) -> None:
        """A file written on this server (a report draft), sent as a Telegram document."""
        with open(attachment.path, "rb") as handle:
            await self.bot.send_document(chat_id=int(chat_id), document=handle,
                                         filename=attachment.name or Path(attachment.path).name)


def _failure(exc: TelegramError) -> Exception:
    """Map a Bot API error to the outbox's temporary / permanent failures."""
    if isinstance(exc, RetryAfter):
        retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
        return TemporaryFailure("429 retry after", retry_after=float(retry))
    if isinstance(exc, BadRequest):
        return PermanentFailure(f"bad request: {exc.message}")
    if isinstance(exc, Forbidden):
        return PermanentFailure(f"forbidden: {exc.message}")
    if isinstance(exc, (TimedOut, NetworkError)):
        return TemporaryFailure(f"network: {exc.message}")
    return PermanentFailure(f"telegram: {exc.message}")
