"""Issue 16, items 1–2: the scikit-learn classifier on the repository's labelled and held-out
sets, lazy fitting, officials' transfers kept as scrubbed corrections, and retraining that
switches only when the model does not get worse."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.config.settings import load_settings
from bot.jobs.classifier_retrain import retrain
from bot.language.classifier import CategorySpec
from bot.language.learning import ModelSlot, build_model, scrub
from bot.language.linear import HELDOUT_PATH, LABELLED_PATH, heldout_examples, shipped_examples
from bot.language.normalize import fold
from bot.main.cli import main
from bot.main.services import category_specs
from storage.classifier import add_correction
from storage.engine import write_session
from storage.models import CategoryCorrection, ClassifierModel, Ticket, TicketEvent
from testkit.drivers import CoreChat
from testkit.office_driver import OfficeChat, add_official
from testkit.office_steps import fresh

ROOT = Path(__file__).resolve().parents[2]
KT = "-1002"                        # the Phòng Kinh tế group in the test config


@pytest.fixture(scope="module")
def specs() -> list[CategorySpec]:
    return category_specs(load_settings(ROOT / "config.yaml"))


@pytest.fixture(scope="module")
def model(specs):
    return build_model(specs, []).fit()


def _plain(text: str) -> bool:
    return fold(text) == " ".join(text.lower().split())


def test_labelled_and_heldout_sets_are_broad_and_disjoint(specs):
    labelled, held = shipped_examples(), heldout_examples()
    codes = {s.code for s in specs}
    assert len(labelled) >= 1000 and len(held) >= 200
    assert {e.category for e in labelled} == codes == {e.category for e in held}
    assert min(Counter(e.category for e in held).values()) >= 14
    assert sum(_plain(e.text) for e in labelled) / len(labelled) >= 0.2      # about a quarter, as citizens type
    assert sum(_plain(e.text) for e in held) / len(held) >= 0.3
    assert not {fold(e.text) for e in held} & {fold(e.text) for e in labelled}, "held-out lines in training"


def test_heldout_accuracy_and_latency(model):
    held = heldout_examples()
    top1 = top3 = 0
    start = time.perf_counter()
    for row in held:
        ranked = [code for code, _ in model.classify(row.text).candidates]
        top1 += ranked[0] == row.category
        top3 += row.category in ranked[:3]
    per_message = (time.perf_counter() - start) / len(held)
    assert top1 / len(held) >= 0.92 and top3 / len(held) >= 0.98, (top1, top3, len(held))
    assert per_message < 0.005 * 3          # 5 ms goal; slack for a loaded test machine


def test_no_topic_means_khac(model):
    assert model.classify("?").category == "khac"
    assert model.classify("").category == "khac"


def test_importing_the_bot_does_not_load_scikit_learn_or_fit():
    code = ("import sys, bot.main.services, bot.main.cli, bot.language.linear; "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_scrub_removes_personal_data():
    text = "Tôi là bà Nguyễn Thị Hoa, số 0912 345 678, email hoa@example.vn, đường ở thôn Mẫu 1 bị hỏng"
    kept = scrub(text)
    assert "Nguyễn" not in kept and "Hoa" not in kept and "0912" not in kept and "@" not in kept
    assert "đường ở thôn Mẫu 1 bị hỏng" in kept


def _file_as_infrastructure(service, description: str):
    """A citizen who picks the wrong field (Hạ tầng, Phòng Kinh tế) for a school matter."""
    chat = CoreChat(service, user_id="c77")
    chat.send("/start")
    chat.press("Đồng ý")
    chat.press("Gửi phản ánh")
    chat.press("Phản ánh")
    chat.send(description)
    chat.press("Lĩnh vực khác")
    chat.press("Hạ tầng")
    chat.send("mau 2")
    chat.press("Tiếp tục")
    chat.press("Một mình")
    chat.press("Không để lại")
    chat.press("Gửi đơn")
    with Session(service.services.engine) as session:
        return session.exec(select(Ticket)).one()


def test_transfer_recategorises_and_keeps_a_scrubbed_correction(service, services):
    add_official(services.engine, user_id="911", role="official", office="KT", name="Cán bộ KT")
    description = ("Cô giáo chủ nhiệm lớp 3 bắt các cháu học thêm ở nhà, phụ huynh Trần Văn Hùng "
                   "0987 654 321 phản ánh nhiều lần, đề nghị xã xem xét")
    ticket = _file_as_infrastructure(service, description)
    assert ticket.category == "ha_tang" and ticket.office_code == "KT"
    kt = OfficeChat(service, user_id="911", chat_id=KT)
    kt.press("Chuyển đơn vị", ticket.code)
    kt.press("Văn hóa")
    kt.send("Việc này thuộc giáo dục, chuyển Phòng Văn hóa - Xã hội")
    moved = fresh(service, ticket)
    assert moved.office_code == "VHXH" and moved.category == "giao_duc"
    with Session(services.engine) as session:
        [row] = session.exec(select(CategoryCorrection)).all()
        [event] = session.exec(select(TicketEvent).where(TicketEvent.action == "transferred")).all()
    assert row.to_category == "giao_duc" and row.from_category == "ha_tang" and row.source == "transfer"
    assert "0987" not in row.text and "Hùng" not in row.text and ticket.code not in row.ticket_ref
    assert "học thêm" in row.text
    assert "category=ha_tang>giao_duc" in event.note


GOOD = ["nước mó pác bó cạn hết, cả bản không có nước ăn", "ống dẫn nước pác bó bị vỡ mấy chỗ",
        "nuoc pac bo khong ve den ban", "bể chứa nước pác bó bị nứt, nước rò hết",
        "đề nghị sửa đường ống pác bó cho bản"]


def _correct(engine, now, rows: list[tuple[str, str]], start: int) -> None:
    with write_session(engine) as session:
        for i, (text, code) in enumerate(rows, start):
            add_correction(session, ticket_ref=f"ref{i}", text=text, from_category="khac", to_category=code,
                           source="transfer", now=now)


def test_corrections_change_the_model_only_when_it_does_not_get_worse(services, specs):
    engine, now = services.engine, services.clock.now()
    slot = ModelSlot(specs)
    probe = "pac bo hong lau roi"                     # a local name the shipped set does not know
    assert slot.classify(probe).category != "ha_tang"
    assert retrain(engine, slot, now) is None                          # nothing to learn yet

    _correct(engine, now, [(t, "ha_tang") for t in GOOD], 0)
    good = retrain(engine, slot, now)
    assert good is not None and good.decision == "switched" and good.active
    assert slot.classify(probe).category == "ha_tang"                  # learnt the local word
    learnt = slot.model

    # A wave of wrong corrections (road complaints labelled as education) makes the model worse
    # on the held-out set: it is recorded and refused; the slot keeps the good model.
    poison = [(e.text, "giao_duc") for e in shipped_examples() if e.category == "ha_tang"]
    _correct(engine, now, poison, 100)
    bad = retrain(engine, slot, now)
    assert bad is not None and bad.decision == "kept" and not bad.active
    assert bad.heldout_top1 < good.heldout_top1
    assert slot.model is learnt
    with Session(engine) as session:
        active = session.exec(select(ClassifierModel).where(ClassifierModel.active == True)).all()  # noqa: E712
    assert [m.id for m in active] == [good.id]


def test_cli_evaluate_and_status(settings, services, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    config = str(tmp_path / "config.yaml")
    exam = tmp_path / "exam.jsonl"
    exam.write_text("".join(json.dumps({"text": e.text, "category": e.category}, ensure_ascii=False) + "\n"
                            for e in heldout_examples()[:40]), encoding="utf-8")
    assert main(["--config", config, "classify", "--evaluate", str(exam)]) == 0
    out = capsys.readouterr().out
    assert "top-1" in out and "top-3" in out and "Bảng nhầm lẫn" in out and "dat_da" in out
    _correct(services.engine, services.clock.now(), [(t, "ha_tang") for t in GOOD], 0)
    assert main(["--config", config, "classify", "--status", "--retrain"]) == 0
    status = capsys.readouterr().out
    assert "Số lần cán bộ sửa lĩnh vực đã ghi nhận: 5" in status and "đã chuyển sang dùng" in status


def test_data_files_are_shipped_with_the_package():
    assert LABELLED_PATH.exists() and HELDOUT_PATH.exists()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"bot.language" = ["data/*.jsonl"]' in pyproject and "scikit-learn" in pyproject
