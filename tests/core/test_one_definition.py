"""Rules that used to be written in several places, and disagreed, now have one definition each."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.core.codes import find_code, normalize_code, parse_code
from bot.documents.register_xlsx import register_rows
from bot.jobs.digest import build_digest, office_names, render_digest
from bot.language.contacts import parse_contact
from storage.engine import read_session, write_session
from testkit.data_factory import add_ticket

TUESDAY = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


def test_channel_names_are_the_same_in_the_digest_and_the_register(services):
    """Console tickets were 'Nhập tại xã' (paper intake's name) in the digest and 'console' in the register;
    web tickets were 'Trang web' in one and 'web' in the other."""
    settings, texts = services.settings, services.texts
    with write_session(services.engine) as session:
        for channel in ("console", "web", "paper"):
            add_ticket(session, settings, services.calendar, now=TUESDAY, channel=channel)
    with read_session(services.engine) as session:
        digest = build_digest(session, settings, monday=date(2026, 11, 23), now=TUESDAY)
        text = render_digest(texts, settings, digest, office_names=office_names(session))
        rows = register_rows(session, settings, texts, date(2026, 11, 1), date(2026, 11, 30))
    by_channel = next(line for line in text.splitlines() if line.startswith("Theo kênh"))
    assert texts.channel_name("console") in by_channel and texts.channel_name("web") in by_channel
    assert by_channel.count(texts.channel_name("paper")) == 1
    assert texts.channel_name("console") != texts.channel_name("paper")
    sources = " ".join(str(r[3]) for r in rows)
    assert f"– {texts.channel_name('web')}" in sources and f"– {texts.channel_name('console')}" in sources


@pytest.mark.parametrize("typed", ["xg-2026-123", "XG - 2026 - 000123", "Mã XG-2026-123 ạ", "xg-2026-0000123"])
def test_one_code_parser_for_every_door(typed):
    """Commands, the chat lookup and the web form read the same spellings of a code."""
    assert parse_code(typed) == "XG-2026-000123"
    found = find_code(typed)
    assert found is not None and found[0] == "XG-2026-000123"
    if typed.strip().lower().startswith("xg"):
        assert normalize_code(typed) == "XG-2026-000123"


@pytest.mark.parametrize("typed, name, phone", [
    ("Nguyễn Văn An 0912345678", "Nguyễn Văn An", "0912345678"),
    ("0912 345 678, Lò Thị Mai", "Lò Thị Mai", "0912345678"),
    ("Hoàng Văn Páo +84 912.345.678", "Hoàng Văn Páo", "0912345678"),
])
def test_one_contact_parser(typed, name, phone):
    contact = parse_contact(typed)
    assert contact is not None and (contact.name, contact.phone) == (name, phone)


@pytest.mark.parametrize("typed", ["0912345678", "Nguyễn Văn An", "An 12345", ""])
def test_contact_needs_a_name_and_a_phone(typed):
    assert parse_contact(typed) is None
