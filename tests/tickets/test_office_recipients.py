"""One office-recipient resolver for every message to an office: cards, reminders, weekly plans,
report reminders. An office is reached in its groups on any channel (/ganphong, config, a linked
Zalo group), else its registered officials privately, else the leaders; check-config names the
offices nobody would hear from."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select


from bot.jobs import reminders, weekly_plan
from bot.jobs.registry import run_due_jobs
from bot.main.cli import main
from bot.main.composition import build_services
from bot.config.settings import load_settings
from bot.tickets import cards
from bot.tickets.recipients import Recipient, office_recipients, unheard_offices
from bot.tickets.records import Draft, create_ticket
from storage.engine import read_session, write_session
from storage.models import Official, OutboxMessage, OfficeGroup
from testkit.config import write_config


def no_office_chats(raw: dict) -> None:
    for office in raw["offices"]:
        office["telegram_chat_id"] = ""


def services_without_chats(tmp_path, database_url, engine, clock, mutate=None):
    def change(raw: dict) -> None:
        no_office_chats(raw)
        if mutate:
            mutate(raw)
    settings = load_settings(write_config(tmp_path, change), environ={"DATABASE_URL": database_url})
    return build_services(settings, clock=clock, engine=engine, migrate=False)


def new_ticket(services, *, office_category="ha_tang"):
    draft = Draft(type="phan_anh", description="Đường bê tông thôn Mẫu 1 sụt lún, có ổ gà lớn rất nguy hiểm",
                  category=office_category, hamlet=services.settings.hamlets[0], contact_mode="anonymous")
    with write_session(services.engine) as session:
        return create_ticket(session, settings=services.settings, calendar=services.calendar, draft=draft,
                             channel="telegram", citizen_id=None, now=services.clock.now()).ticket


def outbox(services) -> list[OutboxMessage]:
    with Session(services.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


class Ctx:
    """The little a card needs: a session, settings, texts, now, notify."""

    def __init__(self, services, session) -> None:
        self.session, self.settings, self.texts, self.now = session, services.settings, services.texts, \
            services.clock.now()
        self.sent = []

    def notify(self, message) -> None:
        self.sent.append(message)


def add_official(services, *, role="official", office="KT", channel="zalo", user_id="8400000000000000001"):
    with write_session(services.engine) as session:
        session.add(Official(office_code=office, role=role, display_name="Cán bộ", channel=channel, user_id=user_id,
                             created_at=services.clock.now()))


def test_card_and_weekly_plan_reach_the_same_ganphong_group(tmp_path, database_url, engine, clock):
    """Cards used the /ganphong group while reminders and plans read only offices[].telegram_chat_id:
    an office with only a registered group got its cards but never its weekly plan (fails on old main)."""
    services = services_without_chats(tmp_path, database_url, engine, clock)
    with write_session(services.engine) as session:
        session.add(OfficeGroup(channel="telegram", chat_id="-100555", office_code="KT", created_at=clock.now()))
    ticket = new_ticket(services)
    with write_session(services.engine) as session:
        ctx = Ctx(services, session)
        card = cards.post_office_card(ctx, session.merge(ticket))
        assert card is not None and (card.channel, card.chat_id) == ("telegram", "-100555")
    monday = datetime(2026, 11, 30, 0, 10, tzinfo=timezone.utc)
    run_due_jobs(services.engine, monday, settings=services.settings, texts=services.texts,
                 calendar=services.calendar, jobs=[("weekly_plan", weekly_plan.run_due)], memory={})
    plans = [m for m in outbox(services) if "Kế hoạch" in m.payload]
    assert ("telegram", "-100555") in {(m.channel, m.chat_id) for m in plans}


def test_deadline_reminder_reaches_the_zalo_group_linked_in_config(tmp_path, database_url, engine, clock):
    services = services_without_chats(tmp_path, database_url, engine, clock,
                                      mutate=lambda raw: raw["offices"][1].update(zalo_group_id="7001"))
    assert services.settings.offices[1].code == "KT"
    ticket = new_ticket(services)
    later = ticket.answer_due
    at = datetime(later.year, later.month, later.day, 1, 0, tzinfo=timezone.utc) - timedelta(days=1)
    run_due_jobs(services.engine, at, settings=services.settings, texts=services.texts,
                 calendar=services.calendar, jobs=[("reminders", reminders.run_due)], memory={})
    reminded = {(m.channel, m.chat_id) for m in outbox(services) if ticket.code in m.payload}
    assert ("zalo", "group:7001") in reminded


def test_fallbacks_officials_then_leaders_then_nobody(tmp_path, database_url, engine, clock, capsys):
    services = services_without_chats(tmp_path, database_url, engine, clock)
    settings = services.settings
    with read_session(services.engine) as session:
        assert office_recipients(session, settings, "KT") == []
        assert set(unheard_offices(session, settings)) == {o.code for o in settings.offices}
    add_official(services, user_id="8400000000000000001")
    add_official(services, role="leader", office=None, channel="telegram", user_id="5001")
    with read_session(services.engine) as session:
        assert office_recipients(session, settings, "KT") == [Recipient("zalo", "8400000000000000001")]
        assert office_recipients(session, settings, "VP") == [Recipient("telegram", "5001")]
        assert unheard_offices(session, settings) == []
    ticket = new_ticket(services)
    with write_session(services.engine) as session:
        ctx = Ctx(services, session)
        card = cards.post_office_card(ctx, session.merge(ticket))
        assert card is not None and (card.channel, card.chat_id) == ("zalo", "8400000000000000001")
        assert card.reply.buttons                  # a private card keeps its buttons


def test_check_config_names_offices_nobody_hears(tmp_path, database_url, engine, monkeypatch, capsys):
    config = write_config(tmp_path, lambda raw: [no_office_chats(raw),
                                                 raw["offices"][0].update(telegram_chat_id="-1001")])
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("TELEGRAM_BOT_TOKEN", "ZALO_APP_ID", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--config", str(config), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "channel telegram: off (TELEGRAM_BOT_TOKEN is not set)" in out
    assert "channel zalo: off" in out
    line = next(line for line in out.splitlines() if "nobody will hear" in line)
    assert "KT" in line and "VP" not in line.split(":", 1)[1].split("(")[0]


def test_leaders_chat_and_heads_fall_back_across_channels(tmp_path, database_url, engine, clock):
    """Digests and briefs go to the leaders; escalations to heads: both reach Zalo chats too."""
    from bot.tickets.recipients import leaders, office_heads

    services = services_without_chats(
        tmp_path, database_url, engine, clock,
        mutate=lambda raw: [raw["schedule"].update(leaders_chat_id="zalo:group:7009"),
                            raw["offices"][1].update(zalo_group_id="7001")])
    with read_session(services.engine) as session:
        assert leaders(session, services.settings) == [Recipient("zalo", "group:7009")]
        assert office_heads(session, "KT") == [Recipient("zalo", "group:7001")]      # no head: the group
        assert office_heads(session, "VHXH") == []
    add_official(services, role="head", office="VHXH", channel="zalo", user_id="8400000000000000077")
    with read_session(services.engine) as session:
        assert office_heads(session, "VHXH") == [Recipient("zalo", "8400000000000000077")]
