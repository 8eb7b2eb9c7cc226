"""Open311 GeoReport v2 in the core: public categories as services, tickets as service requests
(without personal data, never khiếu nại or tố cáo), and POSTed requests turned into routed tickets.
The HTTP/JSON/XML edge lives in handlers/web/open311.py.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.render import labels, shorten
from bot.intake.flow import match_name
from bot.interop.public_stats import is_public, mask_personal
from bot.service.transactions import Service
from bot.language.normalize import is_meaningful, normalize_text
from bot.core.lifecycle import CLOSED as LIFECYCLE_CLOSED
from bot.tickets.records import CreatedTicket, Draft
from storage.interop import open311_candidates, open311_request
from storage.models import Open311Request, Ticket

CHANNEL = "open311"
CLOSED = frozenset(LIFECYCLE_CLOSED)       # THE closed set: a transfer inside the UBND stays open
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)


class Open311Error(Exception):
    """A request the spec answers with an error list: HTTP status, code and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def service_list(settings: Settings) -> list[dict[str, Any]]:
    """The public categories as Open311 services."""
    out = []
    for code in settings.portal.public_categories:
        category = settings.category(code)
        out.append({"service_code": code, "service_name": category.name,
                    "description": category.name, "metadata": True, "type": "realtime",
                    "keywords": ", ".join(category.keywords[:8]), "group": settings.office(category.office).name})
    return out


def service_definition(settings: Settings, code: str) -> dict[str, Any]:
    """A service's attributes: the ticket type (public types only) and the hamlet."""
    if code not in settings.portal.public_categories:
        raise Open311Error(404, f"service_code {code} not found")
    types = [{"key": t, "name": settings.ticket_type(t).name} for t in settings.portal.public_types]
    hamlets = [{"key": str(i), "name": name} for i, name in enumerate(settings.hamlets)]
    return {"service_code": code, "attributes": [
        {"variable": True, "code": "type", "datatype": "singlevaluelist", "required": False,
         "datatype_description": "", "order": 1, "description": labels()["open311_attribute_type"], "values": types},
        {"variable": True, "code": "hamlet", "datatype": "singlevaluelist", "required": False,
         "datatype_description": "", "order": 2, "description": labels()["open311_attribute_hamlet"], "values": hamlets},
    ]}


def _w3c(moment: datetime | None) -> str:
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _day_end(settings: Settings, day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=settings.commune.tz)


def request_view(settings: Settings, ticket: Ticket, *, offices: dict[str, str], status_notes: str) -> dict[str, Any]:
    """One ticket as an Open311 service request: no names, phones or exact descriptions by default."""
    view: dict[str, Any] = {
        "service_request_id": ticket.code,
        "status": "closed" if ticket.status in CLOSED else "open",
        "status_notes": status_notes,
        "service_name": settings.category(ticket.category).name,
        "service_code": ticket.category,
        "description": (mask_personal(shorten(ticket.description, 500), names=(ticket.contact_name,))
                        if settings.portal.publish_descriptions else ""),
        "agency_responsible": offices.get(ticket.office_code, ticket.office_code),
        "service_notice": "",
        "requested_datetime": _w3c(ticket.received_at),
        "updated_datetime": _w3c(ticket.updated_at),
        "expected_datetime": _w3c(_day_end(settings, ticket.resolve_due)),
        "address": ticket.hamlet,
        "address_id": "",
        "zipcode": "",
        "media_url": "",
    }
    if ticket.latitude is not None and ticket.longitude is not None \
            and math.isfinite(ticket.latitude) and math.isfinite(ticket.longitude):
        # About 100 m: enough to find a pothole, not a front door.
        view["lat"], view["long"] = round(ticket.latitude, 3), round(ticket.longitude, 3)
    return view


@dataclass(frozen=True)
class RequestQuery:
    """GET requests filters, already parsed."""

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    status: tuple[str, ...] = ()


def parse_w3c(value: str) -> datetime:
    """A W3C datetime (2010-01-01T00:00:00Z or with an offset); naive means UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, "invalid date (W3C format expected, e.g. 2026-01-31T00:00:00Z)") from None
    if not 1970 <= moment.year <= 2200:
        raise Open311Error(400, "date out of range (1970–2200)")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def find_requests(session: Session, settings: Settings, query: RequestQuery, *, now: datetime) -> list[Ticket]:
    """Public tickets matching the filters; by default the last 90 days, newest first."""
    if query.ids:
        candidates = open311_candidates(session, codes=[i.strip().upper() for i in query.ids], limit=MAX_RESULTS * 2)
    else:
        end = query.end or now
        start = query.start or (end - DEFAULT_WINDOW)
        candidates = open311_candidates(session, codes=None, received_from=start, received_to=end,
                                        categories=list(query.service_codes) if query.service_codes else None,
                                        limit=MAX_RESULTS * 2)
    found = []
    for ticket in candidates:
        if not is_public(settings, ticket):
            continue
        status = "closed" if ticket.status in CLOSED else "open"
        if query.status and status not in query.status and not query.ids:
            continue
        found.append(ticket)
        if len(found) >= MAX_RESULTS:
            break
    return found


def token_request(session: Session, token: str) -> Ticket | None:
    """The public ticket created with this token, if any."""
    row = open311_request(session, token)
    return session.get(Ticket, row.ticket_id) if row else None


def submit_request(service: Service, *, api_key_id: int, fields: dict[str, str]) -> tuple[Ticket, str]:
    """Create a routed ticket (channel open311) through the core: audit event, the office's actionable card,
    outbox wake and hot-spot check as for any chat; the request token is written in the same transaction."""
    draft = draft_from_fields(service.services.settings, fields)
    token = secrets.token_urlsafe(18)

    def keep_token(session: Session, created: CreatedTicket) -> None:
        session.add(Open311Request(token=token, ticket_id=created.ticket.id, api_key_id=api_key_id,
                                   created_at=created.ticket.received_at))

    created = service.file_ticket(draft, channel=CHANNEL, in_transaction=keep_token)
    return created.ticket, token


def draft_from_fields(settings: Settings, fields: dict[str, str]) -> Draft:
    """Validate a POST's fields (spec names) into a draft, or raise Open311Error(400)."""
    code = (fields.get("service_code") or "").strip()
    if code not in settings.portal.public_categories:
        raise Open311Error(400, "service_code is missing or not a public service")
    ticket_type = (fields.get("attribute[type]") or "phan_anh").strip()
    if ticket_type not in settings.portal.public_types:
        raise Open311Error(400, "attribute[type] must be one of " + ", ".join(settings.portal.public_types))
    description, _ = normalize_text(fields.get("description") or "", max_chars=settings.intake.max_text_chars)
    address, _ = normalize_text(fields.get("address_string") or "", max_chars=300)
    if address:
        description = labels()["open311_address"].format(description=description, address=address) if description else address
    if not is_meaningful(description) or len(description) < settings.intake.min_description_chars:
        raise Open311Error(400, "description is required (at least "
                           f"{settings.intake.min_description_chars} characters)")
    location = None
    if fields.get("lat") or fields.get("long"):
        try:
            lat, lon = float(fields.get("lat", "")), float(fields.get("long", ""))
        except ValueError:
            raise Open311Error(400, "lat and long must be numbers") from None
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise Open311Error(400, "lat/long out of range")
        location = [lat, lon]
    hamlet = ""
    raw_hamlet = (fields.get("attribute[hamlet]") or "").strip()
    if raw_hamlet.isascii() and raw_hamlet.isdigit() and len(raw_hamlet) <= 4 and int(raw_hamlet) < len(settings.hamlets):
        hamlet = settings.hamlets[int(raw_hamlet)]
    elif raw_hamlet:
        key = match_name(raw_hamlet, {name: name for name in settings.hamlets}, cutoff=80)
        hamlet = key or ""
    name = " ".join(p for p in (fields.get("first_name", "").strip(), fields.get("last_name", "").strip()) if p)[:80]
    phone = "".join(ch for ch in fields.get("phone", "") if ch.isdigit() or ch == "+")[:16]
    return Draft(type=ticket_type, description=description, category=code, hamlet=hamlet, location=location,
                 contact_mode="manual" if (name or phone) else "anonymous", contact_name=name, contact_phone=phone)
