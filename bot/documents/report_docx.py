"""The petition report as a .docx laid out per NĐ 30/2020: A4, Times New Roman, the two header
blocks, number, place and date, title, body with first-line indent, tables, recipients and signature.

Texts come from templates/vi/report/*.j2; this module only lays them out.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from bot.config.settings import Settings
from bot.documents.statistics import PeriodReport, Row
from bot.core.render import Texts

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 12
HEAD_PT = 11
CONTENT_MM = 161.0     # A4 width minus 32 mm left and 17 mm right margins


def place_date_parts(day: date) -> dict[str, str]:
    """Day and month as NĐ 30/2020 writes them: a leading zero for days < 10 and months < 3."""
    return {"day": f"{day.day:02d}", "month": f"{day.month:02d}" if day.month < 3 else str(day.month),
            "year": str(day.year)}


def percent(value: float | None) -> str:
    """85,7% (Vietnamese decimal comma) or a dash when there is nothing to divide."""
    if value is None:
        return "–"
    return f"{value * 100:.1f}".replace(".", ",") + "%"


def key_values(texts: Texts, name: str, **context: Any) -> dict[str, str]:
    """A template of key=value lines as a dict (plain text, HTML entities undone)."""
    out: dict[str, str] = {}
    for line in texts.render(name, **context).splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = html.unescape(value.strip())
    return out


def _set_font(run, *, size: float, bold: bool = False, italic: bool = False) -> None:  # noqa: ANN001
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    rpr = run._element.get_or_add_rPr()  # noqa: SLF001 - East Asian font slot for Vietnamese
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _para(container, text: str = "", *, size: float = BODY_PT, bold: bool = False, italic: bool = False,  # noqa: ANN001
          align=WD_ALIGN_PARAGRAPH.CENTER, indent: bool = False, after: float = 0, underline: bool = False):
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(after)
    if indent:
        fmt.first_line_indent = Cm(1.27)
    if text:
        run = paragraph.add_run(text)
        _set_font(run, size=size, bold=bold, italic=italic)
        run.font.underline = underline
    return paragraph


def _no_borders(table) -> None:  # noqa: ANN001
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)  # noqa: SLF001


def _column_widths(table, widths: list[float]) -> None:  # noqa: ANN001
    """Fixed column widths in mm (LibreOffice reads the grid, Word the cells: set both)."""
    table.autofit = False
    grid = table._tbl.tblGrid  # noqa: SLF001
    for column, width in zip(grid.findall(qn("w:gridCol")), widths):
        column.set(qn("w:w"), str(int(Mm(width).twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = Mm(width)


def _two_columns(document, widths: tuple[float, float]):  # noqa: ANN001
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    _column_widths(table, list(widths))
    # One block on one page: the signer's name never lands alone on the next page.
    row_properties = table.rows[0]._tr.get_or_add_trPr()  # noqa: SLF001
    row_properties.append(OxmlElement("w:cantSplit"))
    for cell in table.rows[0].cells:
        cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)  # noqa: SLF001
    return table.rows[0].cells


def _stat_table(document, headers: list[str], rows: list[list[str]]) -> None:  # noqa: ANN001
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    head_pt = HEAD_PT if len(headers) > 5 else TABLE_PT
    for cell, header in zip(table.rows[0].cells, headers):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _set_font(cell.paragraphs[0].add_run(header), size=head_pt, bold=True)
    _repeat_header(table.rows[0])
    for values in rows:
        cells = table.add_row().cells
        last = values is rows[-1]
        for index, (cell, value) in enumerate(zip(cells, values)):
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.LEFT if index == 0 else WD_ALIGN_PARAGRAPH.CENTER
            _set_font(cell.paragraphs[0].add_run(value), size=TABLE_PT, bold=last)
    _column_widths(table, column_widths(headers, head_pt))
    _para(document, "", size=6)


def column_widths(headers: list[str], head_pt: float) -> list[float]:
    """Widths in mm: every number column at least as wide as the longest word of its header (a
    header never breaks inside a word), the first column takes what is left."""
    def word_mm(word: str) -> float:
        # bold Times ≈ 0.6 em a character (pt → mm: × 0.353), plus LibreOffice's 1.9 mm padding each side
        return len(word) * head_pt * 0.6 * 0.353 + 4.5
    rest = [max(14.0, max(word_mm(w) for w in h.split())) for h in headers[1:]]
    first = CONTENT_MM - sum(rest)
    if first < 32.0:                                  # too many columns: shrink them evenly
        scale = (CONTENT_MM - 32.0) / sum(rest)
        rest, first = [w * scale for w in rest], 32.0
    return [min(first, 80.0)] + rest


def _repeat_header(row) -> None:  # noqa: ANN001
    """The header row repeats on each page a table spans, and is never split."""
    properties = row._tr.get_or_add_trPr()  # noqa: SLF001
    for tag in ("w:tblHeader", "w:cantSplit"):
        element = OxmlElement(tag)
        element.set(qn("w:val"), "true")
        properties.append(element)


def table_rows(report: PeriodReport, name: str, labels: dict[str, str],
               channels: dict[str, str] | None = None) -> list[list[str]]:
    """The cells of one statistics table, a total line last (each total is the sum of the lines
    above it; in every row total = resolved + referred + pending)."""
    channels = channels or {}
    def totals(rows: list[Row], fields: list[str]) -> list[str]:
        return [labels["total"]] + [str(sum(getattr(r, f) for r in rows)) for f in fields]

    def lines(rows: list[Row], fields: list[str], *, blank: str = "") -> list[list[str]]:
        body = [[r.name or blank] + [str(getattr(r, f)) for f in fields] for r in rows]
        return body + [totals(rows, fields)]

    if name == "by_type":
        return lines(report.by_type, ["carried", "new", "total", "resolved", "on_time", "late", "referred", "pending"])
    if name == "by_category":
        return lines(report.by_category, ["total", "resolved", "referred", "pending"])
    if name == "by_hamlet":
        return lines(report.by_hamlet, ["total", "resolved", "referred", "pending"], blank=labels["unknown_hamlet"])
    if name == "by_office":
        return lines(report.by_office, ["total", "resolved", "on_time", "late", "referred", "pending", "overdue"])
    if name == "by_channel":
        named = [Row(r.key, channels.get(r.key, r.key), r.carried, r.new, r.resolved, r.on_time, r.late, r.referred,
                     r.pending, r.overdue) for r in report.by_channel]
        return lines(named, ["total", "resolved", "referred", "pending"])
    if name == "handling":
        body = [[labels.get(f"status_{state}", state), str(count)]
                for state, count in sorted(report.handling.items())]
        return body + [[labels["total"], str(sum(report.handling.values()))]]
    raise ValueError(f"unknown report table {name!r}")


def build_report_docx(report: PeriodReport, *, settings: Settings, texts: Texts, today: date):  # noqa: ANN201
    """The whole report as a python-docx Document."""
    subject = html.unescape(texts.render("report/subject", period=report.period))
    frame = key_values(texts, "report/frame", commune=settings.commune, number=settings.reports.number_prefix,
                       subject=subject, signer_title=settings.reports.signer_title, **place_date_parts(today))
    labels = key_values(texts, "report/labels")
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(22), Mm(22)
    section.left_margin, section.right_margin = Mm(32), Mm(17)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)

    left, right = _two_columns(document, (63, 98))
    _para(left, frame["authority_top"], size=13, bold=True)
    _para(left, frame["authority"], size=13, bold=True)
    _para(left, "—————", size=8)
    _para(left, frame["number"], size=13)
    _para(right, frame["nation"], size=12.5, bold=True)
    _para(right, frame["motto"], size=14, bold=True, underline=True, after=6)
    _para(right, frame["place_date"], size=14, italic=True)

    _para(document, "", size=10)
    _para(document, frame["title"], size=14, bold=True)
    _para(document, frame["subject"], size=14, bold=True)
    _para(document, "—————", size=8, after=6)

    body = texts.render("report/body", r=report, pct=percent)
    for raw in body.splitlines():
        line = html.unescape(raw.strip())
        if not line:
            continue
        if line.startswith("## "):
            _para(document, line[3:], bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True, after=6)
        elif line.startswith("# "):
            _para(document, line[2:], bold=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True, after=6)
        elif line.startswith("> "):
            paragraph = _para(document, line[2:], italic=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True, after=6)
            for run in paragraph.runs:
                run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        elif line.startswith("[table:") and line.endswith("]"):
            name, *headers = line[7:-1].split("|")
            _stat_table(document, headers, table_rows(report, name, labels, texts.channel_names()))
        else:
            _para(document, line, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True, after=6)

    _para(document, "", size=8)
    left, right = _two_columns(document, (78, 83))
    _para(left, frame["recipients_title"], size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for recipient in settings.reports.recipients:
        _para(left, f"- {recipient};", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _para(left, f"- {frame['recipients_last']}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _para(right, frame["signer_org"], size=14, bold=True)
    _para(right, frame["signer_title"], size=14, bold=True)
    _para(right, frame["signer_note"], size=12, italic=True)
    for _ in range(3):
        _para(right, "", size=14)
    if settings.reports.signer_name:
        _para(right, settings.reports.signer_name, size=14, bold=True)
    else:                       # a marked blank for the office to fill, like the body's placeholders
        blank = _para(right, frame["signer_name_blank"], size=14, bold=True, italic=True)
        for run in blank.runs:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    _page_numbers(section, frame["page"])
    return document


def _page_numbers(section, word: str) -> None:  # noqa: ANN001
    """"Trang N" centred in the footer of every page (a PAGE field Word and LibreOffice fill in)."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_font(paragraph.add_run(f"{word} "), size=12)
    run = paragraph.add_run()
    _set_font(run, size=12)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
        if kind is not None:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = " PAGE "
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)  # noqa: SLF001


def write_report_docx(report: PeriodReport, out: Path, *, settings: Settings, texts: Texts, today: date) -> Path:
    """Build and save the report; returns the path written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    build_report_docx(report, settings=settings, texts=texts, today=today).save(str(out))
    return out
