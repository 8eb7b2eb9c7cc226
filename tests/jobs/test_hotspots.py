"""Hot spots: near-duplicates (accent-insensitive) are linked and clustered, unrelated petitions from
the same hamlet are not; mass petitions and hamlet+category clusters alert leaders at once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, col, select

from bot.jobs.hotspots import find_hotspots
from bot.jobs.registry import run_due_jobs
from storage.engine import write_session
from storage.models import OutboxMessage, Ticket, TicketEvent, TicketLink
from testkit.data_factory import add_official, add_ticket

LEADER = "9101"
FLOOD = [
    "Đường liên thôn đoạn qua cầu tràn bị ngập sâu sau mưa lũ, xe máy không đi được, đề nghị xã xử lý",
    "duong lien thon qua cau tran bi ngap nuoc, xe may ko qua dc, de nghi xa sua gap",
    "Mưa lớn làm ngập đường liên thôn ở cầu tràn, xe máy không qua được, người dân đi lại rất khó khăn",
]
UNRELATED = [
    ("Nhà văn hóa thôn bị dột mái, cần sửa chữa trước mùa mưa bão", "van_hoa"),
    ("Có người đánh bạc ở quán nước đầu thôn vào ban đêm, gây mất trật tự", "an_ninh"),
    ("Trạm y tế thiếu thuốc điều trị tiểu đường cho người cao tuổi", "y_te"),
]


def leader_texts(engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == LEADER)
                            .order_by(col(OutboxMessage.id))).all()
    return [json.loads(r.payload)["text"] for r in rows]


def scan(services, now):
    return run_due_jobs(services.engine, now, settings=services.settings, texts=services.texts,
                        calendar=services.calendar)


def test_near_duplicates_cluster_and_unrelated_do_not(services):
    settings, engine = services.settings, services.engine
    hamlet = settings.hamlets[2]
    # Saturday 28/11/2026, 22:00 local: quiet hours on a day off; hot-spot alerts still go.
    now = datetime(2026, 11, 28, 15, 0, tzinfo=timezone.utc)
    with write_session(engine) as session:
        add_official(session, role="leader", user_id=LEADER, now=now)
        for i, (text, category) in enumerate(UNRELATED):
            add_ticket(session, settings, services.calendar, now=now + timedelta(minutes=i), description=text,
                       category=category, hamlet=hamlet)
        for i, text in enumerate(FLOOD):
            add_ticket(session, settings, services.calendar, now=now + timedelta(minutes=10 + i), description=text,
                       category="ha_tang" if i != 1 else "nong_nghiep", hamlet=hamlet)
    scan(services, now + timedelta(minutes=20))
    with Session(engine) as session:
        tickets = {t.description: t for t in session.exec(select(Ticket)).all()}
        links = session.exec(select(TicketLink)).all()
        events = session.exec(select(TicketEvent).where(TicketEvent.action == "linked_duplicate")).all()
    first = tickets[FLOOD[0]]
    assert {(l.ticket_id, l.linked_to_id) for l in links} == {(tickets[FLOOD[1]].id, first.id),
                                                             (tickets[FLOOD[2]].id, first.id)}
    assert len(events) == 2 and all(first.code in e.note for e in events)      # audited
    with Session(engine) as session:
        spots = find_hotspots(session, settings, now + timedelta(minutes=30))
    groups = [s for s in spots if s.kind == "duplicates"]
    assert len(groups) == 1 and set(groups[0].codes) == {tickets[t].code for t in FLOOD}
    assert not any(s.kind == "cluster" for s in spots)        # 3 unrelated + 2 ha_tang: no 3 of one category
    texts = leader_texts(engine)
    assert sum("trùng" in t for t in texts) == 2
    # Scanning again sends nothing new.
    assert scan(services, now + timedelta(minutes=25)).counts["hotspots"] == 0


def test_mass_petition_and_cluster_alert_once(services):
    settings, engine = services.settings, services.engine
    now = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)
    with write_session(engine) as session:
        add_official(session, role="leader", user_id=LEADER, now=now)
        add_ticket(session, settings, services.calendar, now=now, cosigners=7, category="dat_dai",
                   description="Nhiều hộ dân phản đối việc thu hồi đất làm bãi rác tập trung của xã",
                   hamlet=settings.hamlets[0])
        for i, text in enumerate(["Xưởng gỗ xả khói đen cả ngày", "Bãi rác bốc mùi hôi thối khắp xóm",
                                  "Nước thải chăn nuôi chảy ra suối"]):
            add_ticket(session, settings, services.calendar, now=now + timedelta(hours=i), description=text,
                       category="moi_truong", hamlet=settings.hamlets[1])
    scan(services, now + timedelta(hours=3))
    scan(services, now + timedelta(hours=4))
    texts = leader_texts(engine)
    assert sum("Đơn đông người: 7 người cùng ký" in t for t in texts) == 1
    assert sum("Điểm nóng: 3 đơn" in t for t in texts) == 1
    with Session(engine) as session:
        spots = find_hotspots(session, settings, now + timedelta(hours=5), days=14)
    assert {s.kind for s in spots} == {"mass", "cluster"}
