"""Restart with 1,000 conversations at random steps: every one resumes at the right step."""

from __future__ import annotations

import pytest

import random

from sqlmodel import Session, select

from bot.main.composition import build_services
from bot.core.domain import Channel, Inbound
from bot.service.transactions import Service
from storage.engine import make_engine
from storage.models import Conversation

# consent, menu, type, description, category, hamlet named in the text (confirmed), extras, co-signers,
# contact, name + phone, address (skipped), summary (send), announcements (no).
SCRIPT = ["/start", "1", "1", "1", "Đèn đường ngõ xóm thôn Mẫu 2 hỏng cả tháng nay chưa ai sửa", "1", "1", "2",
          "1", "2", "Nguyễn Văn An 0912345678", "1", "1", "2"]
CONVERSATIONS = 1000


def say(service: Service, user: str, index: int) -> None:
    service.handle_inbound(Inbound(channel=Channel.TELEGRAM, user_id=user, chat_id=user,
                                   external_id=f"{user}-{index}", text=SCRIPT[index]))


def steps(engine) -> dict[str, str]:
    with Session(engine) as session:
        return {c.user_id: c.step for c in session.exec(select(Conversation))}


@pytest.mark.slow
def test_thousand_conversations_resume_after_restart(settings, engine, clock):
    service = Service(build_services(settings, clock=clock, engine=engine, migrate=False))
    # The step after each input, from one reference walk through the whole script.
    expected_after = []
    for index in range(len(SCRIPT)):
        say(service, "reference", index)
        expected_after.append(steps(engine)["reference"])
    assert expected_after[-1] == "menu" and "summary" in expected_after
    rng = random.Random(20261126)
    progress = {f"c{i}": rng.randrange(1, len(SCRIPT)) for i in range(CONVERSATIONS)}
    for user, done in progress.items():
        for index in range(done):
            say(service, user, index)
    before = steps(engine)
    engine.dispose()

    restarted_engine = make_engine(settings.database_url)
    restarted = Service(build_services(settings, clock=clock, engine=restarted_engine, migrate=True))
    assert steps(restarted_engine) == before
    for user, done in progress.items():
        say(restarted, user, done)
    after = steps(restarted_engine)
    wrong = {u: (after[u], expected_after[d]) for u, d in progress.items() if after[u] != expected_after[d]}
    assert wrong == {}
    restarted_engine.dispose()
