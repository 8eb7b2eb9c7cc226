"""Eight simulated weeks (18/01–14/03/2027, with Tết, an extra day off and a make-up Saturday) on a
controllable clock: every reminder, escalation, plan, digest and brief fires at its local time,
exactly once, across restarts between a scan and a send and through a two-hour outage."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlmodel import Session, col, select

from bot.main.composition import build_services
from bot.core.clock import FixedClock
from bot.config.settings import load_settings
from bot.core.domain import Reply
from bot.jobs.office_hours import in_quiet_hours
from bot.jobs.registry import run_due_jobs
from notifications.outbox.sender import OutboxSender
from storage.engine import write_session
from storage.models import OutboxMessage, SentReminder, Ticket
from testkit.config import OFFICE_CHATS, write_config
from testkit.data_factory import add_official, add_ticket

TZ = "Asia/Ho_Chi_Minh"
START = date(2027, 1, 18)            # a Monday
END = date(2027, 3, 14)              # a Sunday, eight weeks later
OUTAGE = (datetime(2027, 3, 1, 6, 30), datetime(2027, 3, 1, 8, 30))   # local; Monday: plan, digest, reminders
LEADER, KT_HEAD, VP_OFFICER = "9001", "9002", "9004"


class RecordingSender:
    """A stand-in channel (the delivery channel itself is tested against the fake Bot API)."""

    channel = "telegram"

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []

    def min_interval(self, chat_id: str) -> float:
        return 0.0

    async def send(self, chat_id: str, reply: Reply) -> None:
        self.delivered.append((chat_id, reply.text))


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm))


def moments(calendar):
    """On working days 15-minute steps around the firing times (06:45–08:45, 13:45–14:15) and hourly
    otherwise; on days off and at night every three hours, plus 21:00 (keeps the test fast)."""
    day = START
    while day <= END:
        working = calendar.is_working_day(day)
        for minute in range(0, 24 * 60, 15):
            hour = minute // 60
            fine = 405 <= minute <= 525 or 825 <= minute <= 855
            hourly = minute % 60 == 0 and (7 <= hour <= 20 if working else False)
            if (working and (fine or hourly)) or minute % 180 == 0 or minute == 21 * 60:
                yield local(day, hour, minute % 60)
        day += timedelta(days=1)


@pytest.fixture
def sim(tmp_path, database_url, engine):
    def mutate(raw):
        raw["calendar"]["extra_days_off"] = ["2026-08-31", "2027-02-11"]
        raw["calendar"]["extra_working_days"] = ["2026-08-22", "2027-02-20"]
        raw["schedule"]["digest_dir"] = str(tmp_path / "digests")
    settings = load_settings(write_config(tmp_path, mutate), environ={"DATABASE_URL": database_url})
    clock = FixedClock(datetime(2027, 1, 18, 0, 0, tzinfo=timezone.utc))
    services = build_services(settings, clock=clock, engine=engine, migrate=False)
    return settings, clock, services


def utc(settings, moment: datetime) -> datetime:
    return moment.replace(tzinfo=settings.commune.tz).astimezone(timezone.utc)


@pytest.mark.slow
def test_eight_weeks_fire_on_time_exactly_once(sim):
    settings, clock, services = sim
    engine, cal = services.engine, services.calendar
    planned = {  # local moment -> ticket to create then
        local(date(2027, 1, 18), 9): dict(key="T1"),                                   # KT, nobody assigned
        local(date(2027, 1, 25), 10): dict(key="T2", type="khieu_nai", category="dat_dai", assign=True),
        local(date(2027, 2, 1), 10): dict(key="T5"),                                   # d1 on the make-up Saturday
        local(date(2027, 2, 13), 21): dict(key="MASS", cosigners=12, hamlet=settings.hamlets[0]),  # Saturday night
    }
    created: dict[str, int] = {}
    with write_session(engine) as session:
        add_official(session, role="leader", user_id=LEADER, name="Chủ tịch")
        add_official(session, role="head", user_id=KT_HEAD, office_code="KT", name="Trưởng phòng KT")
        officer = add_official(session, role="officer", user_id=VP_OFFICER, office_code="VP", name="Cán bộ VP")
        officer_id = officer.id

    memory: dict = {}
    sender = RecordingSender()
    delivered_total = 0
    restarts = 0
    for step, moment in enumerate(moments(cal)):
        now = utc(settings, moment)
        clock.set(now)
        if moment in planned:
            spec = dict(planned[moment])
            key = spec.pop("key")
            assign = spec.pop("assign", False)
            with write_session(engine) as session:
                ticket = add_ticket(session, settings, cal, now=now, assignee_id=officer_id if assign else None,
                                    **spec)
                created[key] = ticket.id
        if OUTAGE[0] <= moment < OUTAGE[1]:
            memory = {}          # the process is down; it starts again with nothing in memory
            continue
        run_due_jobs(engine, now, settings=settings, texts=services.texts, calendar=cal, memory=memory)
        if step % 61 == 0:
            # Restart between a scan and a send: a new process, a new sender, memory gone.
            memory = {}
            restarts += 1
        if step % 40 == 0:
            sender_proc = OutboxSender(engine, clock, {"telegram": sender})
            delivered_total += asyncio.run(sender_proc.drain_once())
    delivered_total += asyncio.run(OutboxSender(engine, clock, {"telegram": sender}).drain_once())
    assert restarts > 10

    with Session(engine) as session:
        records = session.exec(select(SentReminder).where(SentReminder.kind != "hotspot_seen")
                               .order_by(col(SentReminder.id))).all()
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        tickets = {t.id: t for t in session.exec(select(Ticket)).all()}

    # Nothing left behind, nothing sent twice.
    assert all(r.status == "sent" for r in rows)
    assert delivered_total == len(rows) == len(sender.delivered)
    assert len({(r.kind, r.ref, r.period) for r in records}) == len(records)

    fired = {(r.kind, r.ref, r.period): r.created_at.astimezone(settings.commune.tz).replace(tzinfo=None)
             for r in records}

    # Routine messages only on working days outside quiet hours; hot-spot alerts any time.
    for (kind, _ref, _period), at in fired.items():
        if kind.startswith("hotspot"):
            continue
        assert cal.is_working_day(at.date()), (kind, at)
        assert not in_quiet_hours(settings, utc(settings, at)), (kind, at)

    # Hand-checked reminders. T1 received Mon 18/01: answer due Mon 01/02, resolve due Tue 16/02
    # (Tết 04–10/02 and the extra day off 11/02 are skipped).
    t1 = str(created["T1"])
    assert tickets[created["T1"]].answer_due == date(2027, 2, 1)
    assert tickets[created["T1"]].resolve_due == date(2027, 2, 16)
    assert fired[("remind_answer_d3", t1, "2027-02-01")] == local(date(2027, 1, 27), 8)
    assert fired[("remind_answer_d1", t1, "2027-02-01")] == local(date(2027, 1, 29), 8)
    assert fired[("remind_answer_d0", t1, "2027-02-01")] == local(date(2027, 2, 1), 8)
    assert fired[("remind_resolve_d3", t1, "2027-02-16")] == local(date(2027, 2, 3), 8)   # before Tết
    assert fired[("remind_resolve_d1", t1, "2027-02-16")] == local(date(2027, 2, 15), 8)
    assert fired[("remind_resolve_d0", t1, "2027-02-16")] == local(date(2027, 2, 16), 8)
    # T5 received Mon 01/02: answer due Mon 22/02; one working day before is the make-up Saturday 20/02.
    t5 = str(created["T5"])
    assert tickets[created["T5"]].answer_due == date(2027, 2, 22)
    assert fired[("remind_answer_d1", t5, "2027-02-22")] == local(date(2027, 2, 20), 8)
    assert fired[("remind_answer_d3", t5, "2027-02-22")] == local(date(2027, 2, 18), 8)
    # Reminders of a ticket go to the assignee in private chat, else to the office group.
    t2 = tickets[created["T2"]]
    assert ("remind_accept_d3", str(t2.id), t2.accept_due.isoformat()) in fired

    # Weekly plans: Monday 07:00, or the week's first working day (Tết week: Friday 12/02).
    plan_times = {p: at for (k, ref, p), at in fired.items() if k == "weekly_plan" and ref == "leaders"}
    assert plan_times["2027-W06"] == local(date(2027, 2, 12), 7)
    assert plan_times["2027-W05"] == local(date(2027, 2, 1), 7)
    assert plan_times["2027-W03"] == local(date(2027, 1, 18), 7)
    assert plan_times["2027-W09"] == local(date(2027, 3, 1), 8, 30)     # the outage ended at 08:30
    assert len(plan_times) == 8
    for (k, ref, p), at in fired.items():
        if k == "weekly_plan":
            assert at == plan_times[p], (ref, p)       # every office's plan with the leaders'
    # Digests: Monday 07:30 for the week before; Tết week on Friday 12/02 at 07:30.
    digests = {p: at for (k, _r, p), at in fired.items() if k == "digest"}
    assert digests["2027-W05"] == local(date(2027, 2, 12), 7, 30)
    assert digests["2027-W02"] == local(date(2027, 1, 18), 7, 30)
    assert digests["2027-W08"] == local(date(2027, 3, 1), 8, 30)
    assert len(digests) == 8
    # Escalation: daily 08:30 on working days while something is overdue, incl. the make-up Saturday.
    escalations = sorted(at for (k, ref, _p), at in fired.items() if k == "escalation" and ref == "leaders")
    assert escalations, "T1 becomes overdue after 01/02"
    assert all(at.time() == time(8, 30) for at in escalations)
    assert local(date(2027, 2, 20), 8, 30) in escalations
    assert not any(date(2027, 2, 4) <= at.date() <= date(2027, 2, 11) for at in escalations)
    assert ("escalation", "KT", "2027-02-02") in fired
    # Reception brief: the working day before each Thursday, 14:00; Tết's Thursday has none.
    briefs = {p: at for (k, _r, p), at in fired.items() if k == "reception"}
    assert briefs["2027-01-21"] == local(date(2027, 1, 20), 14)
    assert "2027-02-04" not in briefs and "2027-02-11" not in briefs
    assert briefs["2027-02-18"] == local(date(2027, 2, 17), 14)
    # The Saturday-night mass petition reached the leaders at once, despite quiet hours.
    mass_rows = [r for r in rows if r.ticket_code == tickets[created["MASS"]].code and r.chat_id == LEADER]
    mass_rows = [r for r in mass_rows if "Đơn đông người" in json.loads(r.payload)["text"]]
    assert len(mass_rows) == 1
    assert mass_rows[0].created_at.astimezone(settings.commune.tz).replace(tzinfo=None) == \
        local(date(2027, 2, 13), 21)

    # Recipients: the leader got 8 plans and 8 digests (with the chart), the KT group its plans.
    per_chat = Counter(r.chat_id for r in rows)
    assert per_chat[LEADER] >= 16 and per_chat[OFFICE_CHATS["KT"]] >= 8 and per_chat[VP_OFFICER] >= 3
    digest_rows = [json.loads(r.payload) for r in rows if r.chat_id == LEADER
                   and json.loads(r.payload)["attachments"]]
    assert len(digest_rows) == 8
