"""The queue: an office's tickets by deadline with due-soon and overdue marked, filters, an
accent-insensitive search and counts. A leader sees every office (or one chosen); anyone else
only their own office — the same rule as bot.core.policy (list_office, then visible_to per row)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from bot.backoffice.desk import Desk
from bot.core.domain import Channel, TicketStatus
from bot.core.lifecycle import OPEN_STATUSES
from bot.core.policy import can, visible_to
from bot.core.render import shorten
from bot.language.normalize import fold
from storage.backoffice import QueueWhere, official_names, queue_counts, queue_rows, search_candidates

PAGE_SIZE = 50
SEARCH_SCAN = 5000          # newest matching tickets folded and searched per query
SOON_DAYS = 3
OPEN = tuple(sorted(str(s) for s in OPEN_STATUSES))
ALL = tuple(sorted(str(s) for s in TicketStatus))


@dataclass(frozen=True)
class Filters:
    """The queue's filters as chosen on the page (each validated against the configuration)."""

    office: str = ""
    type: str = ""
    category: str = ""
    hamlet: str = ""
    status: str = "open"          # open | all | one status
    channel: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    page: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as URL parameters (for links to other pages of the list)."""
        me = replace(self, **changes)
        out = {"office": me.office, "type": me.type, "category": me.category, "hamlet": me.hamlet,
               "status": me.status, "channel": me.channel, "q": me.q,
               "from": me.date_from.isoformat() if me.date_from else "",
               "to": me.date_to.isoformat() if me.date_to else "", "page": str(me.page)}
        return {k: v for k, v in out.items() if v and not (k == "page" and v == "1")
                and not (k == "status" and v == "open")}


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def parse_filters(params: Mapping[str, str], desk: Desk) -> Filters:
    """Unknown values are dropped (never an error page); a non-leader's office is always their own."""
    settings = desk.settings

    def pick(name: str, allowed: set[str]) -> str:
        value = str(params.get(name, "") or "").strip()
        return value if value in allowed else ""

    office = pick("office", {o.code for o in settings.offices}) if desk.is_leader else (desk.official.office_code or "")
    status = str(params.get("status", "open") or "open")
    if status not in ("open", "all", *ALL):
        status = "open"
    try:
        page = max(1, min(10_000, int(str(params.get("page", "1")))))
    except ValueError:
        page = 1
    return Filters(office=office, type=pick("type", {t.code for t in settings.ticket_types}),
                   category=pick("category", {c.code for c in settings.categories}),
                   hamlet=pick("hamlet", set(settings.hamlets)), status=status,
                   channel=pick("channel", {str(c) for c in Channel}),
                   date_from=_date(str(params.get("from", "") or "")), date_to=_date(str(params.get("to", "") or "")),
                   q=" ".join(str(params.get("q", "") or "").split())[:100], page=page)


def _where(filters: Filters) -> QueueWhere:
    statuses = OPEN if filters.status == "open" else ALL if filters.status == "all" else (filters.status,)
    return QueueWhere(statuses=statuses, office_code=filters.office or None, type=filters.type,
                      category=filters.category, hamlet=filters.hamlet, channel=filters.channel,
                      received_from=filters.date_from, received_to=filters.date_to)


def matching_ids(desk: Desk, where: QueueWhere, needle: str) -> tuple[int, ...]:
    """Tickets whose code, hamlet or text contains the folded needle ('duong' finds 'Đường')."""
    found = []
    for ticket_id, code, hamlet, description in search_candidates(desk.session, where, scan=SEARCH_SCAN):
        if needle in fold(f"{code} {hamlet} {description}"):
            found.append(int(ticket_id))
    return tuple(found)


def build_queue(desk: Desk, filters: Filters) -> dict[str, Any] | None:
    """The page's content, or None when this person may not list tickets at all."""
    if not can(desk.official, "list_office", None, desk.chat):
        return None
    where = _where(filters)
    needle = fold(filters.q)
    if len(needle) >= 2:
        where = replace(where, ids=matching_ids(desk, where, needle))
    today = desk.today
    soon = today + timedelta(days=SOON_DAYS)
    counts = queue_counts(desk.session, where, today=today, soon=soon)
    rows = queue_rows(desk.session, where, limit=PAGE_SIZE, offset=(filters.page - 1) * PAGE_SIZE)
    rows = [t for t in rows if visible_to(desk.official, t)]
    names = official_names(desk.session, {t.assignee_id for t in rows if t.assignee_id})
    settings, texts = desk.settings, desk.texts
    open_statuses = set(OPEN)
    lines = []
    for t in rows:
        is_open = t.status in open_statuses
        lines.append({
            "code": t.code, "type_name": settings.ticket_type(t.type).name,
            "category_name": settings.category(t.category).name, "hamlet": t.hamlet, "office": t.office_code,
            "status": t.status, "status_name": texts.label(f"status_{t.status}"),
            "channel": texts.channel_name(t.channel),
            "received": t.received_date, "resolve_due": t.resolve_due, "cosigners": t.cosigners,
            "assignee": names.get(t.assignee_id, "") if t.assignee_id else "",
            "summary": shorten(" ".join(t.description.split()), 160),
            "overdue": is_open and t.resolve_due < today,
            "due_soon": is_open and today <= t.resolve_due <= soon,
        })
    pages = max(1, -(-counts["total"] // PAGE_SIZE))
    return {"filters": filters, "lines": lines, "counts": counts, "pages": pages, "today": today,
            "options": {"offices": settings.offices, "types": settings.ticket_types,
                        "categories": settings.categories, "hamlets": settings.hamlets,
                        "channels": [(str(c), texts.channel_name(str(c))) for c in Channel],
                        "statuses": [(s, texts.label(f"status_{s}")) for s in ALL]},
            "searched": len(needle) >= 2, "leader": desk.is_leader}
