"""Whistleblower canaries: after tố cáo go through the bot, no name, phone or account id appears in
plain text in the database (any table, and the SQLite file itself) or in the logs."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import inspect, text

from storage.crypto import open_id
from testkit.drivers import CoreChat
from testkit.intake_steps import intake_until_contact

CANARY_NAME = "Canaryname Quách Thị Bíật"
CANARY_PHONE = "0977123456"
CANARY_ADDRESS = "Canaryaddr xóm Kín"
CANARY_ACCOUNT = "918273645546"


def raw_dump(engine) -> str:
    """Every value of every table, read with plain SQL (no decryption)."""
    chunks = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(" ".join(str(v) for v in row))
    return "\n".join(chunks)


def test_denunciation_canaries_never_in_plain_text(service, services, engine, caplog):
    caplog.set_level(logging.DEBUG)
    chat = CoreChat(service, user_id=CANARY_ACCOUNT)
    intake_until_contact(chat, type_label="Tố cáo",
                         description="Tố cáo cán bộ thu tiền sai quy định khi làm giấy tờ đất cho dân")
    chat.press("Nhập họ tên")
    chat.send(f"{CANARY_NAME} {CANARY_PHONE}")
    chat.send(f"{CANARY_ADDRESS}")                               # the author's address: sealed like the name
    assert CANARY_NAME in chat.text_of(chat.history[-1:])      # the author sees their own summary
    chat.press("Gửi đơn")
    chat.send("/dulieu")
    dump = raw_dump(engine)
    for canary in (CANARY_NAME, "Canaryname", CANARY_PHONE, CANARY_ACCOUNT, CANARY_ADDRESS):
        assert canary not in dump, canary
        assert canary not in caplog.text, canary
    if engine.dialect.name == "sqlite":
        database = Path(engine.url.database)
        blob = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        for canary in (CANARY_NAME, CANARY_PHONE, CANARY_ACCOUNT, CANARY_ADDRESS):
            assert canary.encode() not in blob, canary
    # Sealed, not lost: the identity row still opens with the key.
    with engine.connect() as conn:
        sealed = conn.execute(text("SELECT user_id FROM channel_identities")).scalar_one()
    assert sealed.startswith("s1:") and open_id(sealed) == CANARY_ACCOUNT
