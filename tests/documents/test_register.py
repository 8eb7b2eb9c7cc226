"""The petition register (.xlsx): the domain's columns, one row per ticket, filters and a frozen
header, a pseudonym for every tố cáo author, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

from datetime import date

import pytest
from openpyxl import load_workbook

from bot.main.cli import main
from bot.documents.register_xlsx import build_register, safe_cell
from storage.crypto import new_key, reset_keys
from storage.engine import read_session
from testkit.petitions import DENOUNCER_NAME, DENOUNCER_PHONE, Spec, at, create, seed_period

HEADERS = ["STT", "Mã đơn", "Ngày nhận", "Nguồn đơn", "Người gửi và địa chỉ", "Số người", "Loại đơn", "Lĩnh vực",
           "Thôn (nơi xảy ra)", "Tóm tắt nội dung", "Đủ điều kiện xử lý?", "Thuộc thẩm quyền?", "Hướng xử lý",
           "Đơn vị được giao", "Hạn giải quyết", "Kết quả (nội dung đã trả lời công dân)", "Ghi chú"]


@pytest.fixture
def workbook(services, tmp_path):
    tickets = seed_period(services)
    with read_session(services.engine) as session:
        book = build_register(session, services.settings, services.texts, date(2026, 1, 1), date(2026, 6, 30))
    path = tmp_path / "so.xlsx"
    book.save(path)
    return load_workbook(path), tickets


def test_columns_filter_and_frozen_header(workbook):
    book, _ = workbook
    sheet = book.active
    assert [c.value for c in sheet[2]] == HEADERS
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref.startswith("A2:Q")
    assert "XUÂN GIANG" in sheet["A1"].value


def test_one_row_per_ticket_received_in_the_range(workbook):
    book, tickets = workbook
    sheet = book.active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    in_range = sorted((t for t in tickets if date(2026, 1, 1) <= t.received_date <= date(2026, 6, 30)),
                      key=lambda t: (t.received_date, t.id))
    assert [r[1] for r in rows] == [t.code for t in in_range]
    assert [r[0] for r in rows] == list(range(1, len(in_range) + 1))
    assert all(r[3] == "Điện tử – Telegram" for r in rows)
    referred = next(r for r in rows if r[5] == 12)
    assert referred[12] == "Chuyển đơn" and referred[11] == "Không" and "Đơn đông người" in referred[16]
    resolved = next(r for r in rows if r[4] and r[4].startswith("Nguyễn Văn An"))
    assert resolved[15] == "Đã giải quyết ngày 10/02/2026: Đã sửa xong đoạn đường, đổ bê tông lại mặt đường."


def test_denunciation_authors_never_appear(workbook):
    book, tickets = workbook
    values = [str(v) for row in book.active.iter_rows(values_only=True) for v in row if v is not None]
    joined = "\n".join(values)
    assert DENOUNCER_NAME not in joined and DENOUNCER_PHONE not in joined
    denunciation = next(t for t in tickets if t.type == "to_cao" and not t.anonymous)
    assert f"Người tố cáo (được giữ bí mật) – {denunciation.code}" in values


def test_formula_injection_is_escaped(workbook):
    book, _ = workbook
    cells = [c for row in book.active.iter_rows(min_row=3) for c in row]
    assert all(c.data_type != "f" for c in cells)
    summary = [c.value for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert summary and all(v.startswith("'=") for v in summary)
    assert safe_cell("+84912") == "'+84912" and safe_cell("@cmd") == "'@cmd" and safe_cell("-1") == "'-1"
    assert safe_cell("Bình thường") == "Bình thường" and safe_cell(12) == 12


def test_register_command(services, tmp_path, database_url, monkeypatch):
    seed_period(services)
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = tmp_path / "so.xlsx"
    assert main(["--config", str(tmp_path / "config.yaml"), "register", "--from", "2026-01-01", "--to", "2026-12-31",
                 "--out", str(out)]) == 0
    assert load_workbook(out).active.max_row == 2 + 10
    vietnamese = tmp_path / "so-vn.xlsx"                 # dates as offices write them: dd/mm/yyyy
    assert main(["--config", str(tmp_path / "config.yaml"), "register", "--from", "01/01/2026", "--to", "31/12/2026",
                 "--out", str(vietnamese)]) == 0
    assert load_workbook(vietnamese).active.max_row == 2 + 10


def test_source_names_the_channel_without_nested_brackets(services, tmp_path):
    """'Điện tử – Cổng dịch vụ công (Open311)', not 'Điện tử (Cổng dịch vụ công (Open311))'."""
    for channel in ("open311", "console", "zalo"):
        create(services, Spec("phan_anh", "ha_tang", "", at(5, 3)), channel=channel)
    with read_session(services.engine) as session:
        build_register(session, services.settings, services.texts, date(2026, 3, 1),
                       date(2026, 3, 31)).save(tmp_path / "march.xlsx")
    rows = load_workbook(tmp_path / "march.xlsx").active.iter_rows(min_row=3, values_only=True)
    sources = [row[3] for row in rows]
    assert sources == ["Điện tử – Cổng dịch vụ công (Open311)", "Điện tử – Dòng lệnh (thử nghiệm)", "Điện tử – Zalo"]


def test_wrong_data_key_is_a_clear_refusal(services, tmp_path, database_url, monkeypatch, capsys):
    """Sealed names cannot be opened with another key: a one-line answer naming the key, exit 2, no file."""
    seed_period(services)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DANVAN_DATA_KEY", new_key())
    reset_keys()
    try:
        out = tmp_path / "so.xlsx"
        assert main(["--config", str(tmp_path / "config.yaml"), "register", "--from", "2026-01-01",
                     "--to", "2026-12-31", "--out", str(out)]) == 2
        assert "DANVAN_DATA_KEY" in capsys.readouterr().err and not out.exists()
    finally:
        monkeypatch.undo()
        reset_keys()
