"""The petition register (sổ theo dõi đơn) as .xlsx: one row per ticket, filters, frozen header.

A tố cáo author never appears: the row names a pseudonym. Text that a spreadsheet would read as a
formula (= + - @, and tab / carriage return) is escaped with a leading apostrophe.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from copy import copy
from datetime import date, datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from bot.config.settings import Settings
from bot.documents.report_docx import key_values
from bot.documents.statistics import NOT_COMPETENT, RESOLVED, final_answer, local_day_of, status_at
from bot.core.render import Texts
from storage.models import Ticket, TicketEvent
from storage.reports import count_received_between, ticket_batches
from storage.tickets import office_names

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# (header key, width in characters): about 210 characters fit one A4 landscape page at ~70%.
COLUMNS = (("col_stt", 5), ("col_code", 13), ("col_received", 11), ("col_source", 13), ("col_sender", 18),
           ("col_people", 6), ("col_type", 9), ("col_category", 13), ("col_hamlet", 10), ("col_summary", 30),
           ("col_eligible", 8), ("col_competent", 8), ("col_direction", 10), ("col_office", 13), ("col_due", 11),
           ("col_result", 34), ("col_note", 13))
LINE_PT = 13.5          # one wrapped line of 10 pt text
NOW_AND_LATER = datetime(9999, 1, 1, tzinfo=timezone.utc)


def safe_cell(value: object) -> object:
    """Text that could run as a spreadsheet formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def register_rows(session: Session, settings: Settings, texts: Texts, start: date, end: date) -> list[list[object]]:
    """The register's rows (without header) for tickets received from `start` to `end`."""
    return list(iter_register_rows(session, settings, texts, start, end))


def iter_register_rows(session: Session, settings: Settings, texts: Texts, start: date,
                       end: date) -> Iterator[list[object]]:
    """The register's rows one by one, read from the database a batch at a time (a register of
    hundreds of thousands of petitions never sits in memory)."""
    w = key_values(texts, "report/register", commune=settings.commune, start=start, end=end)
    offices = office_names(session)
    number = 0
    for tickets, events in ticket_batches(session, start=start, end=end, events_until=NOW_AND_LATER):
        for ticket in tickets:
            number += 1
            history = events.get(int(ticket.id or 0), [])
            state = status_at(ticket, history, NOW_AND_LATER) or ticket.status
            yield [number, ticket.code, ticket.received_date, _source(ticket, w, texts), _sender(ticket, w),
                   ticket.cosigners, settings.ticket_type(ticket.type).name, settings.category(ticket.category).name,
                   ticket.hamlet or "", _summary(ticket.description), *_eligibility(ticket, state, w),
                   _direction(state, w), offices.get(ticket.office_code, ticket.office_code), ticket.resolve_due,
                   _result(settings, ticket, state, history, w), _note(settings, ticket, history, w)]


def _source(ticket: Ticket, w: dict[str, str], texts: Texts) -> str:
    base = w.get(f"source_{ticket.source}", ticket.source)
    # "Điện tử – Zalo"; a dash, since some channel names carry brackets of their own ("Cổng … (Open311)").
    return f"{base} – {texts.channel_name(ticket.channel)}" if ticket.source == "electronic" else base


def _sender(ticket: Ticket, w: dict[str, str]) -> str:
    # Luật Tố cáo art. 47: the register shows a pseudonym, never the author.
    if ticket.type == "to_cao":
        return f"{w['denunciation_author']} – {ticket.code}"
    # The sender's own address, never the hamlet where the matter happened (its own column).
    if ticket.anonymous or not ticket.contact_name:
        return w["anonymous"]
    return ", ".join(p for p in (ticket.contact_name, getattr(ticket, "contact_address", "") or "") if p)


def _summary(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + "…"


def _eligibility(ticket: Ticket, state: str, w: dict[str, str]) -> tuple[str, str]:
    if ticket.type == "to_cao" and ticket.anonymous:
        return w["no"], w["pending"] if state == "received" else w["no"]
    eligible = w["yes"]
    if state in NOT_COMPETENT:
        return eligible, w["no"]
    # moved between offices of the UBND: still the commune's competence
    return eligible, w["pending"] if state == "received" else w["yes"]


def _direction(state: str, w: dict[str, str]) -> str:
    return {"referred": w["direction_transfer"], "refused": w["direction_guide"], "received": w["direction_pending"],
            "transferred": w["direction_internal"], "mediation": w["direction_mediation"]}.get(
        state, w["direction_accept"])


def _result(settings: Settings, ticket: Ticket, state: str, history: list[TicketEvent], w: dict[str, str]) -> str:
    """What the citizen was told when the case ended, as sent (a tố cáo's answer stays in its file)."""
    if state in RESOLVED or state in NOT_COMPETENT:
        event = final_answer(history)
        if event is None:
            return w[f"result_{'resolved' if state in RESOLVED else state}"]
        day = local_day_of(settings, event.at)
        answer = w["result_in_file"] if ticket.type == "to_cao" else _summary(event.note, 400)
        return f"{w['result_' + event.action]} {w['on_day']} {day:%d/%m/%Y}: {answer}"
    if state == "mediation":
        return w["result_mediation"]
    return w["result_pending"]


def _note(settings: Settings, ticket: Ticket, history: list[TicketEvent], w: dict[str, str]) -> str:
    notes = []
    for event in history:
        if getattr(event, "action", "") in ("mediation_success", "mediation_failed"):
            notes.append(w[f"note_{event.action}"])
    if ticket.cosigners >= settings.hotspots.cosigners:
        notes.append(f"{w['note_mass']} ({ticket.cosigners})")
    if ticket.type == "to_cao" and ticket.anonymous:
        notes.append(w["note_information"])
    return "; ".join(notes)


def build_register(session: Session, settings: Settings, texts: Texts, start: date, end: date) -> Workbook:
    """The register workbook: a title line, a bold frozen header with filters, one row per ticket.

    Written in openpyxl's streaming mode with named styles, the rows streamed from the database: a
    year of petitions takes seconds, and memory does not grow with the number of rows."""
    w = key_values(texts, "report/register", commune=settings.commune, start=start, end=end)
    total = count_received_between(session, start, end)
    book = Workbook(write_only=True)
    thin = Side(style="thin")
    box = Border(top=thin, bottom=thin, left=thin, right=thin)
    styles = {
        "dv_title": NamedStyle(name="dv_title", font=Font(name="Times New Roman", size=13, bold=True)),
        "dv_head": NamedStyle(name="dv_head", font=Font(name="Times New Roman", size=10, bold=True), border=box,
                              alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
                              fill=PatternFill("solid", fgColor="DDEBF7")),
        "dv_body": NamedStyle(name="dv_body", font=Font(name="Times New Roman", size=10), border=box,
                              alignment=Alignment(vertical="top", wrap_text=True)),
        "dv_date": NamedStyle(name="dv_date", font=Font(name="Times New Roman", size=10), border=box,
                              alignment=Alignment(vertical="top"), number_format="DD/MM/YYYY"),
    }
    for style in styles.values():
        book.add_named_style(style)
    sheet = book.create_sheet(w["sheet"][:31])
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(COLUMNS))}{total + 2}"
    # Printing: A4 landscape, one page wide (as many tall as needed), the header row on every page.
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = 9              # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
    sheet.page_margins.header = sheet.page_margins.footer = 0.25
    sheet.oddFooter.center.text = w["footer"]

    # Setting a named style by name looks it up on every cell; a copy of the resolved style is
    # several times cheaper over hundreds of thousands of cells.
    resolved = {}
    for name in styles:
        prototype = WriteOnlyCell(sheet)
        prototype.style = name
        resolved[name] = prototype._style  # noqa: SLF001 - openpyxl's per-cell style record

    def cell(value: object, style: str) -> WriteOnlyCell:
        out = WriteOnlyCell(sheet, value=safe_cell(value))
        if isinstance(value, str):
            out.data_type = "s"          # never a formula, whatever the text
        out._style = copy(resolved[style])  # noqa: SLF001
        return out

    sheet.append([cell(w["title"], "dv_title")])
    header = [w[key] for key, _ in COLUMNS]
    sheet.row_dimensions[2].height = row_height(header, bold=True)
    sheet.append([cell(text, "dv_head") for text in header])
    for number, values in enumerate(iter_register_rows(session, settings, texts, start, end), start=3):
        # An explicit height: LibreOffice does not grow wrapped rows of a streamed sheet, they overlap.
        sheet.row_dimensions[number].height = row_height(values)
        sheet.append([cell(v, "dv_date" if isinstance(v, (date, datetime)) else "dv_body") for v in values])
        del sheet.row_dimensions[number]           # written: memory stays flat
    return book


def row_height(values: list[object], *, bold: bool = False) -> float:
    """Points a row needs so that every wrapped cell shows whole (an estimate by characters)."""
    lines = 1
    for value, (_, width) in zip(values, COLUMNS):
        if isinstance(value, str) and value:
            usable = max(1.0, width * (1.1 if bold else 1.3))      # 10 pt Times is narrower than the unit
            lines = max(lines, sum(math.ceil(max(1, len(part)) / usable) for part in value.split("\n")))
    return round(lines * LINE_PT + 4, 1)


def write_register(session: Session, settings: Settings, texts: Texts, start: date, end: date, out: Path) -> Path:
    """Build and save the register; returns the path written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    build_register(session, settings, texts, start, end).save(str(out))
    return out
