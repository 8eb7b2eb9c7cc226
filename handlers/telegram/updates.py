"""Translate python-telegram-bot Update objects into the core's Inbound type. No rules here."""

from __future__ import annotations

from telegram import Message, Update

from bot.core.domain import Attachment, Channel, Contact, Inbound, Location


def _attachments(message: Message) -> tuple[Attachment, ...]:
    items: list[Attachment] = []
    if message.photo:
        best = message.photo[-1]
        items.append(Attachment(kind="photo", ref=best.file_id, mime="image/jpeg", size=best.file_size or 0))
    for kind in ("voice", "audio", "video", "video_note", "document"):
        media = getattr(message, kind, None)
        if media is not None:
            items.append(Attachment(kind=kind, ref=media.file_id, mime=getattr(media, "mime_type", "") or "",
                                    size=media.file_size or 0, name=getattr(media, "file_name", "") or ""))
    if message.sticker is not None:
        items.append(Attachment(kind="sticker", ref=message.sticker.file_id))
    return tuple(items)


def inbound_from_update(update: Update) -> Inbound | None:
    """The Inbound for an update a person made, or None for updates we do not handle."""
    external_id = str(update.update_id)
    if update.callback_query is not None:
        query = update.callback_query
        if query.from_user is None:
            return None
        message = query.message
        chat = message.chat if message is not None else None
        return Inbound(channel=Channel.TELEGRAM, user_id=str(query.from_user.id),
                       chat_id=str(chat.id if chat else query.from_user.id), external_id=external_id,
                       payload=query.data or "", is_private=chat is None or chat.type == "private",
                       callback_ref=query.id, message_ref=str(message.message_id) if message else "")
    # Edited messages are not new answers: re-reading them would repeat a step.
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    contact = None
    if message.contact is not None:
        owner = message.contact.user_id
        contact = Contact(phone=message.contact.phone_number,
                          name=" ".join(p for p in (message.contact.first_name, message.contact.last_name) if p),
                          owner_id=str(owner) if owner else "")
    location = None
    if message.location is not None:
        location = Location(latitude=message.location.latitude, longitude=message.location.longitude)
    return Inbound(channel=Channel.TELEGRAM, user_id=str(message.from_user.id), chat_id=str(message.chat.id),
                   external_id=external_id, text=message.text or message.caption or "",
                   attachments=_attachments(message), location=location, contact=contact,
                   is_private=message.chat.type == "private", message_ref=str(message.message_id),
                   reply_to_bot=bool(message.reply_to_message and message.reply_to_message.from_user
                                     and message.reply_to_message.from_user.is_bot))
