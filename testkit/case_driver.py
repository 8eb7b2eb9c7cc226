"""Whole ticket lifecycles driven through the real core (citizens' chats on each channel, officials'
card actions and commands, the mediation team's /hoagiai), and the checks that the case files add
up: every report table, the register against the report, every open ticket once in one office's plan.

Used by tests/documents/test_case_files.py (one test per finding of issue 15) and
tests/documents/test_case_files_property.py (generated lifecycles)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, col, select

from bot.core.domain import COMPLAINT_TYPES, Channel
from bot.core.lifecycle import NOT_COMPETENT_STATUSES, OPEN_STATUSES, RESOLVED_STATUSES
from bot.core.render import Texts
from bot.documents.register_xlsx import register_rows
from bot.documents.report_docx import key_values, table_rows
from bot.documents.statistics import PeriodReport, build_report, report_period
from bot.jobs.weekly_plan import build_plan
from bot.officials.actions import STATES_FOR
from bot.service.transactions import Service, Services
from bot.tickets import tokens
from storage.engine import write_session
from storage.models import Official, Ticket
from testkit.drivers import CoreChat
from testkit.office_driver import OfficeChat, add_official

OFFICE_CHATS = {"VP": "-1001", "KT": "-1002", "VHXH": "-1003", "HCC": "-1004", "CA": "-1005", "QS": "-1006"}
TYPE_LABELS = {"phan_anh": "Phản ánh", "kien_nghi": "Kiến nghị", "gop_y": "Góp ý", "khieu_nai": "Khiếu nại",
               "to_cao": "Tố cáo"}
DESCRIPTIONS = (
    "Đường liên thôn đoạn qua cầu tràn bị sạt lở nặng, xe máy không đi được, đề nghị xã sửa sớm",
    "Nhà hàng xóm xây tường lấn sang phần đất nhà tôi khoảng nửa mét, hai bên đã cãi nhau nhiều lần",
    "Đề nghị xã lắp thêm đèn chiếu sáng đường vào trường tiểu học vì buổi tối rất tối",
    "Khiếu nại quyết định của xã về việc không cấp giấy xác nhận hộ nghèo cho gia đình tôi",
    "Tố cáo cán bộ địa chính nhận tiền để làm nhanh hồ sơ cấp sổ đỏ cho một số hộ trong thôn",
    "Góp ý nên tổ chức thêm buổi tiếp dân vào chiều thứ bảy cho người đi làm xa",
    "Chó nhà bên cạnh thả rông cắn gà nhà tôi nhiều lần, đã nói nhưng không thay đổi",
)
CHANNELS = (Channel.TELEGRAM, Channel.ZALO, Channel.WEB, Channel.CONSOLE)
TEXT_OPS = {"transfer": "Chuyển cho bộ phận đúng chức năng", "request_info": "Đề nghị cho biết vị trí cụ thể",
            "resolve": "Đã cử cán bộ kiểm tra và khắc phục xong, đề nghị ông/bà theo dõi",
            "refuse": "Việc này thuộc thẩm quyền Tòa án nhân dân khu vực, đề nghị ông/bà liên hệ tòa",
            "refer": "Đã chuyển đơn đến Sở Tài nguyên và Môi trường tỉnh Tuyên Quang giải quyết",
            "extend": "Vụ việc phức tạp cần thêm thời gian xác minh",
            "mediate": "Tranh chấp giữa hai hộ liền kề, đề nghị tổ hòa giải giúp hai bên thỏa thuận"}
_users = itertools.count(1)


@dataclass
class Case:
    code: str
    chat: CoreChat
    contact: bool


@dataclass
class Commune:
    """The commune's people: one head per office in its group, a mediation team leader per hamlet."""

    service: Service
    heads: dict[str, str] = field(default_factory=dict)
    mediators: dict[str, str] = field(default_factory=dict)

    @classmethod
    def staffed(cls, service: Service) -> "Commune":
        commune = cls(service)
        engine = service.services.engine
        for index, code in enumerate(OFFICE_CHATS):
            user = f"80{index}"
            add_official(engine, user_id=user, role="head", office=code, name=f"Trưởng {code}")
            commune.heads[code] = user
        with Session(engine) as session:
            for index, hamlet in enumerate(service.services.settings.hamlets):
                user = f"85{index}"
                session.add(Official(channel="telegram", user_id=user, role="mediator", hamlet=hamlet,
                                     display_name=f"Tổ trưởng hòa giải {index}", created_at=service.services.clock.now()))
                commune.mediators[hamlet] = user
            session.commit()
        return commune

    @property
    def services(self) -> Services:
        return self.service.services

    # --- citizens -------------------------------------------------------------------------------

    def intake(self, *, type_code: str, channel: Channel, hamlet: int, contact: bool, text: int = 0) -> Case:
        """A citizen files a petition on `channel` through the whole intake conversation."""
        number = next(_users)
        chat = CoreChat(self.service, user_id=f"9{number:05d}", channel=channel)
        chat.send("/start")
        if any("Đồng ý" in label for label, _ in chat.last_buttons()):
            chat.press("Đồng ý")
        chat.press("Gửi phản ánh")
        chat.press(TYPE_LABELS[type_code])
        chat.send(f"{DESCRIPTIONS[text % len(DESCRIPTIONS)]} (lần {number})")
        chat.press(chat.last_buttons()[0][0])
        hamlets = self.services.settings.hamlets
        chat.send(hamlets[hamlet % len(hamlets)].replace(" (mẫu)", ""))
        chat.press("Tiếp tục")
        if any("Một mình" in label for label, _ in chat.last_buttons()):
            chat.press("Một mình")
        contact = contact or type_code == "khieu_nai"
        if contact:
            chat.press("Nhập họ tên")
            chat.send(f"Nguyễn Văn Dân {number} 09{number % 10**8:08d}")
            chat.send(f"Số {number}, xóm Giữa, thôn Mẫu {hamlet % 5 + 1}")
        else:
            chat.press("Không để lại")
            if type_code == "to_cao":
                chat.press(self.services.texts.label("anonymous_confirm"))
        chat.press("Gửi đơn")
        if any("nhận thông báo" in label for label, _ in chat.last_buttons()):
            chat.press("nhận thông báo")                # web and Zalo offer notices after sending
        with Session(self.services.engine) as session:
            code = session.exec(select(Ticket.code).order_by(col(Ticket.id).desc())).first()
        return Case(code=code, chat=chat, contact=contact)

    # --- officials ------------------------------------------------------------------------------

    def ticket(self, code: str) -> Ticket:
        with Session(self.services.engine) as session:
            return session.exec(select(Ticket).where(Ticket.code == code)).one()

    def act(self, case: Case, op: str, *, target: str = "VP", success: bool = True) -> bool:
        """One step of the lifecycle, when the ticket's state allows it; True when carried out."""
        ticket = self.ticket(case.code)
        if op == "answer_info":
            if ticket.status != "waiting_citizen" or not case.contact:
                return False
            case.chat.send("Vị trí ở ngay đầu cầu tràn, cạnh nhà văn hóa thôn")
            return True
        if op == "reopen":
            case.chat.read()
            if ticket.status != "resolved" or not any("Rất không hài lòng" in label
                                                      for label, _ in case.chat.last_buttons()):
                return False
            case.chat.press("1 – Rất không hài lòng")
            case.chat.read()
            if any("gửi lại" in label for label, _ in case.chat.last_buttons()):
                case.chat.press("gửi lại")
            return True
        if op == "mediation_outcome":
            if ticket.status != "mediation":
                return False
            mediator = OfficeChat(self.service, user_id=self.mediators[ticket.hamlet])
            mediator.send(f"/hoagiai {ticket.code} phancong Trần Văn Hòa, Lê Thị Giải")
            mediator.send(f"/hoagiai {ticket.code} {'thanh' if success else 'khongthanh'} "
                          f"{'Hai bên thống nhất giữ nguyên ranh giới cũ' if success else 'Một bên không đồng ý'}")
            return True
        if op == "mediate" and (ticket.type in COMPLAINT_TYPES or not ticket.hamlet):
            return False
        if op == "transfer" and target == ticket.office_code:
            return False
        if op not in STATES_FOR or ticket.status not in STATES_FOR[op]:
            return False
        group = OfficeChat(self.service, user_id=self.heads[ticket.office_code], chat_id=OFFICE_CHATS[ticket.office_code])
        action = f"transfer_to:{target}" if op == "transfer" else op
        with write_session(self.services.engine) as session:
            payload = tokens.payload_for(session, ticket_id=int(ticket.id or 0), action=action,
                                         chat_key=f"telegram:{group.chat_id}", now=self.services.clock.now())
        group.send(payload=payload)
        if op in TEXT_OPS:
            group.send(TEXT_OPS[op], reply_to_bot=True)
        return True


# --- the checks ----------------------------------------------------------------------------------

def year_report(services: Services, today: date) -> PeriodReport:
    with Session(services.engine) as session:
        return build_report(session, services.settings, report_period("year", today.year, today=today))


def check_tables_add_up(report: PeriodReport, texts: Texts) -> None:
    """Totals are the sum of their parts in every table; every row's total = resolved + referred + pending."""
    labels = key_values(texts, "report/labels")
    for name in ("by_type", "by_category", "by_hamlet", "by_office", "by_channel"):
        rows = getattr(report, name)
        assert sum(r.total for r in rows) == report.total, name
        for row in rows:
            assert row.total == row.resolved + row.referred + row.pending, (name, row)
            assert row.resolved == row.on_time + row.late and row.overdue <= row.pending, (name, row)
        cells = table_rows(report, name, labels)
        body = [[int(v) for v in line[1:]] for line in cells[:-1]]
        assert [sum(column) for column in zip(*body)] == [int(v) for v in cells[-1][1:]], name
    assert sum(report.handling.values()) == report.total
    assert report.eligible == report.within_competence + report.not_competent
    assert report.complaints.total + report.petitions.total == report.total
    assert report.mediation_success + report.mediation_failed <= report.mediated


def check_register_agrees(services: Services, report: PeriodReport, start: date, end: date) -> None:
    """The register (tickets received in the period) row by row against the report's counts."""
    w = key_values(services.texts, "report/register", commune=services.settings.commune, start=start, end=end)
    with Session(services.engine) as session:
        rows = register_rows(session, services.settings, services.texts, start, end)
        tickets = {t.code: t for t in session.exec(select(Ticket))}
    assert report.carried_over == 0 and len(rows) == report.received_new
    offices = {o.code: o.name for o in services.settings.offices}
    by_office = {r.name: r.total for r in report.by_office if r.total}
    seen_office: dict[str, int] = {}
    resolved = referred = 0
    for row in rows:
        ticket = tickets[row[1]]
        seen_office[row[13]] = seen_office.get(row[13], 0) + 1
        assert row[13] == offices[ticket.office_code]
        assert row[8] == ticket.hamlet and (not ticket.hamlet or ticket.hamlet not in str(row[4]))
        if ticket.status in RESOLVED_STATUSES:
            resolved += 1
            assert row[15].startswith(w["result_resolved"]) or row[15].startswith(w["result_mediation_success"])
            assert "survey" not in row[15]
        elif ticket.status in NOT_COMPETENT_STATUSES:
            referred += 1
            assert row[11] == w["no"]
        else:
            assert row[11] in (w["yes"], w["pending"]) or (ticket.type == "to_cao" and ticket.anonymous)
    assert seen_office == by_office
    assert resolved == sum(r.resolved for r in report.by_type)
    assert referred == sum(r.referred for r in report.by_type)


def check_plan(services: Services, today: date) -> None:
    """Every open ticket appears exactly once, in its own office's plan."""
    monday = today - timedelta(days=today.weekday())
    with Session(services.engine) as session:
        plans = build_plan(session, services.settings, monday=monday, today=today)
        open_tickets = {t.code: t.office_code for t in session.exec(select(Ticket))
                        if t.status in OPEN_STATUSES}
    listed = [(code, plan.office_code) for plan in plans for code in plan.codes]
    assert len(listed) == len({code for code, _ in listed})
    assert dict(listed) == open_tickets


def check_case_files(services: Services, *, since: date = date(2026, 1, 1)) -> None:
    """All three checks, over everything received from `since` (before any test ticket) to today."""
    today = services.clock.now().astimezone(services.settings.commune.tz).date()
    with Session(services.engine) as session:
        report = build_report(session, services.settings, report_period("year", today.year, start=since, end=today))
    check_tables_add_up(report, services.texts)
    check_register_agrees(services, report, since, today)
    check_plan(services, today)


def valid_ops(commune: Commune, case: Case) -> list[str]:
    """The steps the ticket's current state allows (what the generated lifecycles choose from)."""
    ticket = commune.ticket(case.code)
    ops = [op for op in ("accept", "transfer", "request_info", "extend", "resolve", "refuse", "refer", "mediate")
           if ticket.status in STATES_FOR[op]]
    if "mediate" in ops and (ticket.type in COMPLAINT_TYPES or not ticket.hamlet):
        ops.remove("mediate")
    if "request_info" in ops and not case.contact:
        ops.remove("request_info")
    if ticket.status == "waiting_citizen" and case.contact:
        ops.append("answer_info")
    if ticket.status == "resolved" and case.contact:
        ops.append("reopen")
    if ticket.status == "mediation":
        ops.append("mediation_outcome")
    return ops
