"""Issue 15: case files that add up. One test per finding (each fails on the main before it):
internal transfers, the register's answer, the sender's address, the lookup of a finished case,
the documents (plan once, page numbers, signer line, channels), grassroots mediation; and issue
11's one open set."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from docx import Document
from sqlmodel import Session, select

from bot.core.domain import Channel
from bot.documents.register_xlsx import register_rows
from bot.documents.report_docx import write_report_docx
from bot.intake.lookup import lookup_ticket
from bot.jobs.digest import build_digest, render_digest
from bot.jobs.overdue import overdue_counts
from bot.jobs.weekly_plan import build_plan
from storage.models import ReporterIdentity, TicketEvent
from testkit.case_driver import OFFICE_CHATS, Commune, check_case_files, year_report
from testkit.office_driver import OfficeChat, add_official, plain, rows_for

TODAY = date(2026, 11, 26)


@pytest.fixture
def commune(service):
    return Commune.staffed(service)


def register(services):
    with Session(services.engine) as session:
        return register_rows(session, services.settings, services.texts, date(2026, 1, 1), TODAY)


def test_internal_transfer_stays_within_competence_at_the_receiving_office(commune, services):
    case = commune.intake(type_code="phan_anh", channel=Channel.TELEGRAM, hamlet=1, contact=True)
    assert commune.ticket(case.code).office_code == "KT"
    commune.act(case, "transfer", target="VP")
    ticket = commune.ticket(case.code)
    assert ticket.office_code == "VP" and ticket.status == "transferred"
    report = year_report(services, TODAY)
    assert report.not_competent == 0 and report.within_competence == 1
    assert report.handling == {"transferred": 1}
    by_office = {r.key: r for r in report.by_office}
    assert by_office["VP"].total == by_office["VP"].pending == 1 and by_office["KT"].total == 0
    [row] = register(services)
    assert row[11] == "Có" and row[12].startswith("Thụ lý") and row[13] == services.settings.office("VP").name
    with Session(services.engine) as session:
        plans = {p.office_code: p for p in build_plan(session, services.settings, monday=date(2026, 11, 23),
                                                      today=TODAY)}
    assert plans["VP"].codes == [case.code] and plans["KT"].codes == []
    group = OfficeChat(commune.service, user_id=commune.heads["VP"], chat_id=OFFICE_CHATS["VP"])
    group.send("/donvi")
    assert case.code in plain(rows_for(services.engine, OFFICE_CHATS["VP"])[-1:])
    check_case_files(services)


def test_referral_outside_is_not_competent_and_counts_for_the_first_office(commune, services):
    case = commune.intake(type_code="kien_nghi", channel=Channel.ZALO, hamlet=0, contact=True)
    office = commune.ticket(case.code).office_code
    commune.act(case, "refer")
    ticket = commune.ticket(case.code)
    assert ticket.status == "referred" and ticket.office_code == office
    report = year_report(services, TODAY)
    assert report.not_competent == 1 and report.within_competence == 0
    assert {r.key: r.referred for r in report.by_office}[office] == 1
    [row] = register(services)
    assert (row[11], row[12]) == ("Không", "Chuyển đơn")
    assert row[15].startswith("Đã chuyển cơ quan có thẩm quyền ngày 26/11/2026: Đã chuyển đơn đến Sở")
    assert "chuyển đến cơ quan có thẩm quyền" in case.chat.text_of(case.chat.read()) or \
        "cơ quan có thẩm quyền" in case.chat.text_of(case.chat.history[-2:])
    check_case_files(services)


def test_register_result_is_the_answer_sent_not_the_survey(commune, services):
    case = commune.intake(type_code="phan_anh", channel=Channel.WEB, hamlet=2, contact=True)
    commune.act(case, "accept")
    commune.act(case, "resolve")
    case.chat.read()
    case.chat.press("5 – Rất hài lòng")                       # the survey closes the ticket ("survey")
    assert commune.ticket(case.code).status == "closed"
    [row] = register(services)
    assert row[15] == ("Đã giải quyết ngày 26/11/2026: Đã cử cán bộ kiểm tra và khắc phục xong, "
                       "đề nghị ông/bà theo dõi")
    check_case_files(services)


def test_reopened_case_is_open_again_in_plan_and_figures(commune, services):
    case = commune.intake(type_code="kien_nghi", channel=Channel.ZALO, hamlet=0, contact=True)
    commune.act(case, "accept")
    commune.act(case, "resolve")
    assert commune.act(case, "reopen")
    assert commune.ticket(case.code).status == "reopened"
    [row] = register(services)
    assert row[15] == "Đang giải quyết"                       # the old answer no longer stands
    check_case_files(services)


def test_sender_address_is_apart_from_the_incident_hamlet(commune, services):
    case = commune.intake(type_code="khieu_nai", channel=Channel.TELEGRAM, hamlet=3, contact=True)
    ticket = commune.ticket(case.code)
    assert ticket.contact_address.startswith("Số ") and ticket.hamlet in services.settings.hamlets
    [row] = register(services)
    assert row[4] == f"{ticket.contact_name}, {ticket.contact_address}" and row[8] == ticket.hamlet
    denunciation = commune.intake(type_code="to_cao", channel=Channel.ZALO, hamlet=1, contact=True)
    leader = OfficeChat(commune.service, user_id="870")
    add_official(services.engine, user_id="870", role="leader", office=None)
    leader.send(f"/danhtinh {denunciation.code} kiểm tra điều kiện thụ lý tố cáo")
    revealed = plain(rows_for(services.engine, "870"))
    with Session(services.engine) as session:
        identity = session.exec(select(ReporterIdentity)).one()
    assert f"Địa chỉ: {identity.address}" in revealed and identity.address.startswith("Số ")
    assert commune.ticket(denunciation.code).hamlet not in identity.address


def test_lookup_of_a_finished_case_shows_the_answer_date_and_office(commune, services):
    case = commune.intake(type_code="phan_anh", channel=Channel.TELEGRAM, hamlet=1, contact=True)
    commune.act(case, "accept")
    commune.act(case, "resolve")
    shown = case.chat.text_of(case.chat.send(f"/tracuu {case.code}"))
    assert "Trả lời ngày 26/11/2026 (Phòng Kinh tế):" in shown and "khắc phục xong" in shown
    with Session(services.engine) as session:
        pin_row = session.exec(select(TicketEvent).where(TicketEvent.action == "created")).first()
    assert pin_row is not None
    refused = commune.intake(type_code="kien_nghi", channel=Channel.CONSOLE, hamlet=1, contact=True)
    commune.act(refused, "refuse")
    shown = refused.chat.text_of(refused.chat.send(f"/tracuu {refused.code}"))
    assert "Hướng dẫn ngày 26/11/2026" in shown and "Tòa án" in shown


def test_web_lookup_shows_the_answer(commune, services):
    case = commune.intake(type_code="gop_y", channel=Channel.WEB, hamlet=0, contact=True)
    pin = next(line.split("Mã PIN:")[1].split()[0] for line in
               case.chat.text_of(case.chat.history).splitlines() if "Mã PIN:" in line)
    commune.act(case, "accept")
    commune.act(case, "resolve")
    with Session(services.engine) as session:
        found = lookup_ticket(session, services.settings, services.texts, code=case.code, pin=pin)
    assert found["answer"].startswith("Đã cử cán bộ") and found["answered"] == TODAY
    page = services.texts.render("web/lookup", commune=services.settings.commune, t=found, code=case.code,
                                 csrf="x", error="", year=2026)
    assert "Nội dung trả lời" in page and "Đã cử cán bộ" in page and "Phòng" in page


def test_open_set_is_one_definition(commune, services, clock):
    """Issue 11: /thongke and the escalation/digest counted transferred tickets differently."""
    case = commune.intake(type_code="phan_anh", channel=Channel.TELEGRAM, hamlet=1, contact=True)
    commune.act(case, "transfer", target="VHXH")
    late = commune.ticket(case.code).resolve_due.toordinal() + 5
    counts = overdue_counts(Session(services.engine), date.fromordinal(late))
    assert counts["VHXH"].count == 1                              # still open, and late, at its new office


def test_thongke_counts_overdue_as_the_digest_does(commune, services, clock):
    """Issue 11: /thongke counted only passed resolution deadlines; the digest and escalation count
    any passed running deadline (here the 'answer' step of a ticket nobody has touched)."""
    case = commune.intake(type_code="kien_nghi", channel=Channel.TELEGRAM, hamlet=1, contact=True)
    ticket = commune.ticket(case.code)
    day = date.fromordinal(ticket.answer_due.toordinal() + 1)
    assert day < ticket.resolve_due
    clock.set(datetime(day.year, day.month, day.day, 3, 0, tzinfo=timezone.utc))
    with Session(services.engine) as session:
        digest = sum(o.count for o in overdue_counts(session, day).values())
    assert digest == 1
    add_official(services.engine, user_id="990", role="leader", office="VP", name="Chủ tịch")
    leader = OfficeChat(commune.service, user_id="990")
    leader.send("/thongke")
    assert f"Quá hạn đang mở: {digest}" in plain(rows_for(services.engine, "990")[-1:])


def test_documents_plan_once_page_numbers_signer_and_channels(commune, services, tmp_path):
    case = commune.intake(type_code="phan_anh", channel=Channel.CONSOLE, hamlet=1, contact=False)
    with Session(services.engine) as session:
        plans = build_plan(session, services.settings, monday=date(2026, 11, 23), today=TODAY)
    listed = [code for p in plans for code in p.codes]
    assert listed.count(case.code) == 1
    report = year_report(services, TODAY)
    assert [r.key for r in report.by_channel] == ["console"]
    out = write_report_docx(report, tmp_path / "bc.docx", settings=services.settings, texts=services.texts,
                            today=TODAY)
    doc = Document(str(out))
    footer = doc.sections[0].footer._element.xml
    assert "PAGE" in footer and "Trang" in footer
    closing = [p.text for p in doc.tables[-1].rows[0].cells[1].paragraphs]
    assert closing[-1]                                           # a signer-name line, even before config names one
    assert "w:cantSplit" in doc.tables[-1].rows[0]._tr.xml       # the signature block is never split across pages
    channel_table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Nguồn tiếp nhận")
    assert channel_table.rows[1].cells[0].text == "Dòng lệnh (thử nghiệm)"      # not "Nhập tại xã"


def test_mediation_both_outcomes(commune, services):
    agreed = commune.intake(type_code="kien_nghi", channel=Channel.TELEGRAM, hamlet=1, contact=True, text=1)
    failed = commune.intake(type_code="phan_anh", channel=Channel.ZALO, hamlet=1, contact=True, text=6)
    for case in (agreed, failed):
        commune.act(case, "mediate")
        assert commune.ticket(case.code).status == "mediation"
    mediator_chat = commune.mediators[services.settings.hamlets[1]]
    case_text = plain(rows_for(services.engine, mediator_chat))
    assert "Nguyễn Văn Dân" in case_text and "/hoagiai" in case_text       # the team sees the parties
    kt = plain(rows_for(services.engine, OFFICE_CHATS[commune.ticket(failed.code).office_code])[-1:])
    assert "Nguyễn Văn Dân" not in kt                                        # the office group does not
    commune.act(agreed, "mediation_outcome", success=True)
    commune.act(failed, "mediation_outcome", success=False)
    assert commune.ticket(agreed.code).status == "resolved"
    assert commune.ticket(failed.code).status == "in_progress"
    assert "Tòa án" in failed.chat.text_of(failed.chat.read()) or "Tòa án" in failed.chat.text_of(failed.chat.history)
    report = year_report(services, TODAY)
    assert (report.mediated, report.mediation_success, report.mediation_failed) == (2, 1, 1)
    with Session(services.engine) as session:
        digest = build_digest(session, services.settings, monday=date(2026, 11, 23), now=services.clock.now())
        body = render_digest(services.texts, services.settings, digest, office_names={})
    assert "Hòa giải ở cơ sở: chuyển tổ hòa giải 2 vụ việc; hòa giải thành 1, không thành 1 (tỷ lệ thành 50,0%)" \
        in body
    notes = {row[1]: row[16] for row in register(services)}
    assert "Hòa giải thành" in notes[agreed.code] and "Hòa giải không thành" in notes[failed.code]
    # a stranger, or a mediator of another hamlet, cannot record an outcome
    other = OfficeChat(commune.service, user_id=commune.mediators[services.settings.hamlets[2]])
    other.send(f"/hoagiai {failed.code} thanh xong")
    assert commune.ticket(failed.code).status == "in_progress"
    check_case_files(services)


def test_a_retired_config_key_names_its_replacement(tmp_path):
    from bot.config.settings import ConfigError, load_settings
    from testkit.config import write_config

    for section, key, value, replacement in (("portal", "hot_spot_cosigners", 5, "hotspots.cosigners"),
                                             ("reports", "six_month_deadline", "05-31", "schedule.report_deadlines")):
        path = write_config(tmp_path, lambda raw: raw.setdefault(section, {}).__setitem__(key, value))
        with pytest.raises(ConfigError, match=replacement.replace(".", r"\.")):
            load_settings(path, environ={})
