"""Renders a Reply for Telegram (HTML, inline or reply keyboards, split at 4096) and sends it."""

from __future__ import annotations

from telegram import (Bot, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup,
                      ReplyKeyboardRemove)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.domain import ButtonKind, Reply
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


def render_markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """Inline buttons normally; a reply keyboard when a button must request contact or location."""
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

    async def send(self, chat_id: str, reply: Reply) -> None:
        photos = [a for a in reply.attachments if a.kind == "photo" and (a.path or a.ref)]
        parts = split_text(reply.text or "…") if reply.text or not photos else []
        markup = render_markup(reply)
        done = 0
        try:
            for index, part in enumerate(parts):
                last = index == len(parts) - 1 and not photos
                await self.bot.send_message(chat_id=int(chat_id), text=part, parse_mode=ParseMode.HTML,
                                            reply_markup=markup if last else None)
                done += 1
            for photo in photos:
                if photo.path:
                    with open(photo.path, "rb") as handle:
                        await self.bot.send_photo(chat_id=int(chat_id), photo=handle,
                                                  caption=photo.name[:1024] or None)
                else:   # a Telegram file_id (e.g. the photo a leader sent with /thongbao)
                    await self.bot.send_photo(chat_id=int(chat_id), photo=photo.ref, caption=photo.name[:1024] or None)
                done += 1
        except RetryAfter as exc:
            retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
            raise TemporaryFailure("429 retry after", retry_after=float(retry),
                                   remaining=_remaining(reply, parts, photos, done)) from exc
        except BadRequest as exc:
            raise PermanentFailure(f"bad request: {exc.message}") from exc
        except Forbidden as exc:
            raise PermanentFailure(f"forbidden: {exc.message}") from exc
        except (TimedOut, NetworkError) as exc:
            raise TemporaryFailure(f"network: {exc.message}", remaining=_remaining(reply, parts, photos, done)) from exc
        except FileNotFoundError as exc:
            raise PermanentFailure(f"attachment missing: {exc.filename}") from exc
        except TelegramError as exc:
            raise PermanentFailure(f"telegram: {exc.message}") from exc


def _remaining(reply: Reply, parts: list[str], photos: list, done: int) -> Reply | None:
    """The unsent rest of a split message, or None when nothing went out yet."""
    if done == 0:
        return None
    text_left = "\n".join(parts[done:])
    photos_left = tuple(photos[max(0, done - len(parts)):])
    return Reply(text=text_left, buttons=reply.buttons, attachments=photos_left, remove_keyboard=reply.remove_keyboard)
