"""Grassroots mediation's time limits at work: the hamlet's team leader is reminded on the day
mediators must be assigned (if none are) and on the day mediation must have started (if no outcome
is recorded), once each, in private chat, without the parties' names; a case with its outcome
recorded is reminded no more."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.core.domain import Channel
from bot.jobs import mediation_reminders
from bot.jobs.registry import run_due_jobs
from testkit.case_driver import Commune
from testkit.office_driver import OfficeChat, plain, rows_for

JOBS = [("mediation_reminders", mediation_reminders.run_due)]


@pytest.fixture
def commune(service):
    return Commune.staffed(service)


def scan(services, clock, moment: datetime) -> int:
    clock.set(moment)
    return run_due_jobs(services.engine, moment, settings=services.settings, texts=services.texts,
                        calendar=services.calendar, jobs=JOBS, memory={}).total


def local(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour - 7, minute, tzinfo=timezone.utc)     # Hà Nội is UTC+7


def test_team_leader_reminded_of_assignment_then_start_once_each(commune, services, clock):
    # Referred on Thursday 26/11/2026: assign by +3 working days (Tue 01/12), start by +5 (Thu 03/12).
    case = commune.intake(type_code="phan_anh", channel=Channel.TELEGRAM, hamlet=1, contact=True)
    assert commune.act(case, "mediate")
    leader = commune.mediators[services.settings.hamlets[1]]
    seen = len(rows_for(services.engine, leader))

    def new_texts() -> str:
        nonlocal seen
        rows = rows_for(services.engine, leader)
        fresh, seen = rows[seen:], len(rows)
        return plain(fresh)

    assert scan(services, clock, local(30, 11, 9)) == 0
    assert scan(services, clock, local(1, 12, 7, 59)) == 0            # before the due day's reminder time
    assert scan(services, clock, local(1, 12, 8, 30)) == 1
    text = new_texts()
    assert case.code in text and "cần phân công hòa giải viên" in text and "01/12/2026" in text
    assert "Nguyễn Văn Dân" not in text                                # the parties stay in the case file
    assert scan(services, clock, local(1, 12, 10)) == 0                 # once
    OfficeChat(commune.service, user_id=leader).send(f"/hoagiai {case.code} phancong Trần Văn Hòa")
    new_texts()
    assert scan(services, clock, local(3, 12, 8, 30)) == 1
    text = new_texts()
    assert "cần tiến hành hòa giải và ghi kết quả" in text and "03/12/2026" in text
    assert scan(services, clock, local(4, 12, 9)) == 0


def test_after_downtime_only_the_latest_limit_and_none_after_the_outcome(commune, services, clock):
    late = commune.intake(type_code="kien_nghi", channel=Channel.ZALO, hamlet=1, contact=True, text=1)
    done = commune.intake(type_code="phan_anh", channel=Channel.TELEGRAM, hamlet=1, contact=True, text=6)
    for case in (late, done):
        assert commune.act(case, "mediate")
    assert commune.act(done, "mediation_outcome", success=True)
    leader = commune.mediators[services.settings.hamlets[1]]
    before = len(rows_for(services.engine, leader))
    assert scan(services, clock, local(7, 12, 9)) == 1                 # both limits passed while down
    text = plain(rows_for(services.engine, leader)[before:])
    assert late.code in text and done.code not in text
    assert "cần tiến hành hòa giải" in text and "cần phân công" not in text and "đã quá 4 ngày" in text
