"""The weekly plan as an .xlsx sheet: every line of the plan, for an office whose chat message had
to be shortened (a backlog of hundreds of files is read in a spreadsheet, not in a chat).

Labels come from the template office/weekly_plan_sheet; codes, categories and hamlets are escaped
like the register's cells so that nothing in them runs as a formula.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from bot.documents.register_xlsx import safe_cell
from bot.documents.report_docx import key_values
from bot.core.render import Texts

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = (("col_stt", 6), ("col_office", 24), ("col_group", 22), ("col_code", 16), ("col_step", 12),
           ("col_due", 12), ("col_late", 10), ("col_category", 22), ("col_hamlet", 16), ("col_assignee", 22))


def sheet_words(texts: Texts, *, monday: date, office: str, commune: str) -> dict[str, str]:
    """The sheet's title, headers and words for this week, for one office ('' = the whole commune)."""
    week, year = monday.isocalendar()[1], monday.isocalendar()[0]
    return key_values(texts, "office/weekly_plan_sheet", week=week, year=year, monday=monday,
                      sunday=monday + timedelta(days=6), office=office, commune=commune)


def write_plan_xlsx(texts: Texts, plans: list, *, monday: date, office: str, commune: str, path: Path) -> Path:
    """Write every line of these office plans (bot.jobs.weekly_plan.OfficePlan) to `path`."""
    w = sheet_words(texts, monday=monday, office=office, commune=commune)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(w["sheet"][:31])
    for index, (_, width) in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    title = WriteOnlyCell(sheet, value=w["title"])
    title.font = Font(bold=True)
    sheet.append([title])
    header = []
    for key, _ in COLUMNS:
        cell = WriteOnlyCell(sheet, value=w[key])
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    number = 0
    for plan in plans:
        for group, lines in (("group_overdue", plan.overdue), ("group_due", plan.due_this_week),
                             ("group_not_accepted", plan.not_accepted), ("group_mediation", plan.mediation),
                             ("group_later", plan.later)):
            for line in lines:
                number += 1
                due = WriteOnlyCell(sheet, value=line.due)
                due.number_format = "DD/MM/YYYY"
                sheet.append([number, safe_cell(plan.office_name), w[group], safe_cell(line.code), line.step, due,
                              line.days_late if group == "group_overdue" else None, safe_cell(line.category),
                              safe_cell(line.hamlet), safe_cell(line.assignee or w["unassigned"])])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
