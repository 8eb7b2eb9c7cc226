"""Renders a Reply for Telegram (HTML, inline or reply keyboards, split at 4096) and sends it."""

from __future__ import annotations

from pathlib import Path

from telegram import (Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton,
                      ReplyKeyboardMarkup, ReplyKeyboardRemove)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.core.domain import Attachment, ButtonKind, Reply
from notifications.outbox.channel import PermanentFailure, TemporaryFailure

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
        """Send (split when long), then attachments; returns the id of the message carrying the buttons."""
        files = [a for a in reply.attachments if a.path or a.ref]
        parts = split_text(reply.text or "…") if reply.text or not files else []
        markup = render_markup(reply)
        message_id = ""
        done = 0
        try:
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                sent = await self.bot.send_message(chat_id=int(chat_id), text=part, parse_mode=ParseMode.HTML,
                                                   reply_markup=markup if last else None)
                message_id = str(sent.message_id)
                done += 1
            for item in files:
                await self._send_attachment(chat_id, item)
                done += 1
        except TelegramError as exc:
            raise _failure(exc, remaining=_remaining(reply, parts, files, done)) from exc
        except FileNotFoundError as exc:
            raise PermanentFailure(f"attachment missing: {exc.filename}") from exc
        return message_id

    async def _send_attachment(self, chat_id: str, item: Attachment) -> None:
        """A photo or file: from this server's disk (a chart, a report draft) or by Telegram file id."""
        caption = item.name[:1024] or None if item.kind == "photo" else None
        if item.path:
            with open(item.path, "rb") as handle:
                if item.kind == "photo":
                    await self.bot.send_photo(chat_id=int(chat_id), photo=handle, caption=caption)
                else:
                    await self.bot.send_document(chat_id=int(chat_id), document=handle,
                                                 filename=item.name or Path(item.path).name)
        elif item.kind == "photo":
            await self.bot.send_photo(chat_id=int(chat_id), photo=item.ref, caption=caption)
        else:
            await self.bot.send_document(chat_id=int(chat_id), document=item.ref)

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


def _remaining(reply: Reply, parts: list[str], files: list[Attachment], done: int) -> Reply | None:
    """The unsent rest of a split message, or None when nothing went out yet."""
    if done == 0:
        return None
    text_left = "\n".join(parts[done:])
    files_left = tuple(files[max(0, done - len(parts)):])
    return Reply(text=text_left, buttons=reply.buttons if text_left else (), attachments=files_left,
                 remove_keyboard=reply.remove_keyboard)


def _failure(exc: TelegramError, *, remaining: Reply | None = None) -> Exception:
    """Map a Bot API error to the outbox's temporary / permanent failures."""
    if isinstance(exc, RetryAfter):
        retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
        return TemporaryFailure("429 retry after", retry_after=float(retry), remaining=remaining)
    if isinstance(exc, BadRequest):
        return PermanentFailure(f"bad request: {exc.message}")
    if isinstance(exc, Forbidden):
        return PermanentFailure(f"forbidden: {exc.message}")
    if isinstance(exc, (TimedOut, NetworkError)):
        return TemporaryFailure(f"network: {exc.message}", remaining=remaining)
    return PermanentFailure(f"telegram: {exc.message}")
