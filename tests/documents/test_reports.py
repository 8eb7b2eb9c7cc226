"""The petition report: numbers from the database, the NĐ 30/2020 layout in the .docx, and the
PDF LibreOffice makes of it (header texts, diacritics, A4, Times-metric font, no tố cáo author)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
from docx import Document
from sqlmodel import select

from bot.main.cli import main
from bot.documents.report_docx import place_date_parts, write_report_docx
from bot.documents.statistics import build_report, report_due, report_period
from storage.engine import read_session
from storage.models import ReporterIdentity
from testkit.petitions import DENOUNCER_NAME, DENOUNCER_PHONE, seed_period

TODAY = date(2026, 7, 5)


@pytest.fixture
def seeded(services):
    return seed_period(services)


def six_month(services):
    with read_session(services.engine) as session:
        return build_report(session, services.settings, report_period("6m", 2026, today=TODAY))


def test_period_numbers_match_the_seeded_tickets(services, seeded):
    report = six_month(services)
    assert report.period.start == date(2026, 1, 1) and report.period.end == date(2026, 6, 30)
    assert report.carried_over == 1           # the December ticket still open on 1/1; the other was done
    assert report.received_new == 9           # the July ticket is after the period
    assert report.total == 10
    assert report.anonymous_denunciations == 1
    assert report.eligible == 9
    assert report.not_competent == 1          # the mass petition referred outside the commune
    assert report.within_competence == 8
    assert report.mass_petitions == 1
    by_type = {r.key: r for r in report.by_type}
    assert (by_type["phan_anh"].total, by_type["phan_anh"].resolved) == (4, 3)
    assert (by_type["phan_anh"].on_time, by_type["phan_anh"].late) == (2, 1)   # Dec ticket resolved after its due day
    assert (by_type["kien_nghi"].resolved, by_type["kien_nghi"].late) == (1, 1)
    assert (by_type["khieu_nai"].resolved, by_type["khieu_nai"].on_time) == (1, 1)
    assert by_type["to_cao"].total == 2 and by_type["to_cao"].resolved == 0
    assert report.complaints.total == 3 and report.complaints.resolved == 1
    assert report.petitions.total == 7 and report.petitions.resolved == 4
    assert report.handling == {"resolved": 5, "received": 3, "accepted": 1, "referred": 1}
    assert sum(r.total for r in report.by_category) == sum(r.total for r in report.by_hamlet) == 10
    assert {h.kind for h in report.hot_spots} == {"mass", "cluster"}


def test_state_is_read_from_the_audit_trail_at_the_period_end(services, seeded):
    """A report for January alone sees the February ticket as not yet received."""
    with read_session(services.engine) as session:
        report = build_report(session, services.settings,
                              report_period("6m", 2026, start=date(2026, 1, 1), end=date(2026, 1, 31)))
    assert report.received_new == 0 and report.carried_over == 1
    assert report.handling == {"resolved": 1}


def test_docx_layout_follows_decree_30(services, seeded, tmp_path):
    out = write_report_docx(six_month(services), tmp_path / "bc.docx", settings=services.settings,
                            texts=services.texts, today=TODAY)
    doc = Document(str(out))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert 20 <= section.top_margin.mm <= 25 and 20 <= section.bottom_margin.mm <= 25
    assert 30 <= section.left_margin.mm <= 35 and 15 <= section.right_margin.mm <= 20
    assert doc.styles["Normal"].font.name == "Times New Roman"
    assert 13 <= doc.styles["Normal"].font.size.pt <= 14
    header = doc.tables[0].rows[0].cells
    left = [p.text for p in header[0].paragraphs]
    right = [p for p in header[1].paragraphs]
    assert left[:2] == ["ỦY BAN NHÂN DÂN", "XÃ XUÂN GIANG"]
    assert all(r.bold for p in header[0].paragraphs[:2] for r in p.runs)
    assert "Số: …/BC-UBND" in left
    assert [p.text for p in right][:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    place = right[2]
    assert place.text == "Xuân Giang, ngày 05 tháng 7 năm 2026" and all(r.italic for r in place.runs)
    texts = [p.text for p in doc.paragraphs]
    title = texts.index("BÁO CÁO")
    assert doc.paragraphs[title].runs[0].bold
    assert texts[title + 1].startswith("Kết quả công tác tiếp công dân") and "6 tháng đầu năm 2026" in texts[title + 1]
    body = [p for p in doc.paragraphs if p.text.startswith("Tổng số đơn phải xử lý")]
    assert body and body[0].paragraph_format.first_line_indent is not None
    marked = [p for p in doc.paragraphs if p.text.startswith("[Cán bộ bổ sung")]
    assert len(marked) >= 5 and all(r.italic for p in marked for r in p.runs)
    closing = doc.tables[-1].rows[0].cells
    recipients = [p.text for p in closing[0].paragraphs]
    assert recipients[0] == "Nơi nhận:" and recipients[-1] == "- Lưu: VT."
    assert [p.text for p in closing[1].paragraphs][:2] == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
    for table in doc.tables:
        for cell in table._cells:
            for p in cell.paragraphs:
                for r in p.runs:
                    assert r.font.name in (None, "Times New Roman")


def table_by_header(doc, first_header: str):
    return next(t for t in doc.tables if t.rows[0].cells[0].text == first_header)


def test_docx_tables_add_up_to_the_database(services, seeded, tmp_path):
    report = six_month(services)
    doc = Document(str(write_report_docx(report, tmp_path / "bc.docx", settings=services.settings,
                                         texts=services.texts, today=TODAY)))
    by_type = table_by_header(doc, "Loại đơn")
    total_row = [c.text for c in by_type.rows[-1].cells]
    assert total_row == ["Tổng cộng", "1", "9", "10", "5", "3", "2", "1", "4"]
    body_rows = [[int(c.text) for c in row.cells[1:]] for row in by_type.rows[1:-1]]
    assert [sum(col) for col in zip(*body_rows)] == [int(v) for v in total_row[1:]]
    assert table_by_header(doc, "Lĩnh vực").rows[-1].cells[1].text == "10"
    assert table_by_header(doc, "Thôn").rows[-1].cells[1].text == "10"
    assert table_by_header(doc, "Tình trạng").rows[-1].cells[1].text == "10"
    assert table_by_header(doc, "Đơn vị được giao").rows[-1].cells[1].text == "10"


def all_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for c in t._cells]
    return "\n".join(parts)


def test_no_denunciation_author_in_the_report(services, seeded, tmp_path):
    with read_session(services.engine) as session:
        identities = list(session.exec(select(ReporterIdentity)))
    assert [i.name for i in identities if i.name] == [DENOUNCER_NAME]      # the author is on file...
    doc = Document(str(write_report_docx(six_month(services), tmp_path / "bc.docx", settings=services.settings,
                                         texts=services.texts, today=TODAY)))
    text = all_text(doc)
    for identity in identities:                                          # ...but never in the report
        for secret in (identity.name, identity.phone):
            if secret:
                assert secret not in text
    assert DENOUNCER_PHONE not in text


def test_place_and_date_padding():
    assert place_date_parts(date(2026, 1, 5)) == {"day": "05", "month": "01", "year": "2026"}
    assert place_date_parts(date(2026, 11, 20)) == {"day": "20", "month": "11", "year": "2026"}


def test_drafts_are_due_before_the_legal_deadlines(settings):
    assert report_due(settings, date(2026, 5, 21)) == "6m"       # 10 days before 31/5
    assert report_due(settings, date(2026, 11, 20)) == "year"    # 10 days before 30/11
    assert report_due(settings, date(2026, 5, 22)) is None


def test_report_command_writes_the_file(services, seeded, tmp_path, settings, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = tmp_path / "out" / "bc.docx"
    config = tmp_path / "config.yaml"
    assert main(["--config", str(config), "report", "--period", "6m", "--year", "2026",
                 "--from", "2026-01-01", "--to", "2026-06-30", "--out", str(out)]) == 0
    doc = Document(str(out))
    assert table_by_header(doc, "Loại đơn").rows[-1].cells[3].text == "10"


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed: apt-get install "
                    "libreoffice-writer-nogui fonts-liberation2 poppler-utils (see .ci/run)")
def test_libreoffice_renders_the_report_to_pdf(services, seeded, tmp_path):
    out = write_report_docx(six_month(services), tmp_path / "bc.docx", settings=services.settings,
                            texts=services.texts, today=TODAY)
    profile = tmp_path / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(out)], check=True, capture_output=True, timeout=120)
    pdf = tmp_path / "bc.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: cannot read the PDF back")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    for expected in ("ỦY BAN NHÂN DÂN", "XÃ XUÂN GIANG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Độc lập - Tự do - Hạnh phúc", "Xuân Giang, ngày 05 tháng 7 năm 2026", "BÁO CÁO",
                     "Nơi nhận:", "- Lưu: VT.", "TM. ỦY BAN NHÂN DÂN", "Số: …/BC-UBND"):
        assert expected in text, expected
    assert DENOUNCER_NAME not in text and DENOUNCER_PHONE not in text
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "595.3" in info and "841.9" in info or "A4" in info          # A4 in points
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    serif = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert serif and all("Serif" in line or "Times" in line for line in serif), fonts
