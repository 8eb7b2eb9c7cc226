"""Open311 GeoReport v2 over HTTP: /open311/v2/... in .json and .xml, error lists as the spec
shows them, API keys for POST. The meaning (what is public, how a request becomes a ticket) is in
bot/open311.py."""

from __future__ import annotations

from types import MappingProxyType

import asyncio
import logging
import math
import re
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web

from bot.interop import open311
from bot.interop.api_keys import find_api_key
from bot.interop.open311 import Open311Error, RequestQuery
from bot.service.transactions import Service, Services
from handlers.web.doors import json_response
from storage.engine import read_session, write_session
from storage.tickets import office_names
from storage.models import ApiKey, Ticket

log = logging.getLogger(__name__)
PREFIX = "/open311/v2"
FMT = "{fmt:json|xml}"
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
# Characters XML 1.0 cannot hold at all (control characters, lone surrogates, U+FFFE/U+FFFF).
XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_IDS = 200
MAX_ID_CHARS = 40
XML_LIST_ITEMS = MappingProxyType({"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
                  "values": "value", "endpoints": "endpoint", "formats": "format"})


def xml_text(value: Any) -> str:
    """Text XML can carry, whatever the input held (an error may quote a query)."""
    return XML_INVALID_RE.sub("", str(value))


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    element = ET.SubElement(parent, key)
    if isinstance(value, list):
        child_name = XML_LIST_ITEMS.get(key, "item")
        for item in value:
            _xml_fill(ET.SubElement(element, child_name), item) if isinstance(item, dict) else \
                setattr(ET.SubElement(element, child_name), "text", xml_text(item))
    elif isinstance(value, dict):
        _xml_fill(element, value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, float) and not math.isfinite(value):
        return
    elif value is not None:
        element.text = xml_text(value)


def _xml_fill(element: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        _xml_value(element, key, value)


def to_xml(root: str, data: Any) -> bytes:
    """The spec's XML: a list becomes <root><item>…</item></root>, a dict <root>…</root>."""
    element = ET.Element(root)
    if isinstance(data, list):
        child_name = XML_LIST_ITEMS[root]
        for item in data:
            _xml_fill(ET.SubElement(element, child_name), item)
    else:
        _xml_fill(element, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8")


def respond(request: web.Request, root: str, data: Any, *, status: int = 200) -> web.Response:
    if request.match_info.get("fmt") == "xml":
        return web.Response(body=to_xml(root, data), status=status, content_type="text/xml", charset="utf-8")
    return json_response(data, status=status)


def error(request: web.Request, status: int, description: str) -> web.Response:
    """[{"code": 403, "description": "..."}] or <errors><error>…</error></errors>."""
    return respond(request, "errors", [{"code": status, "description": description}], status=status)


class Open311:
    """Handlers of the GeoReport v2 endpoints."""

    def __init__(self, services: Services, service: Service) -> None:
        self.services = services
        self.service = service
        self.settings = services.settings

    def _check_jurisdiction(self, request: web.Request, fields: Any = None) -> None:
        wanted = (fields or request.query).get("jurisdiction_id")
        if wanted and wanted not in (self.settings.commune.admin_code, self.settings.commune.code_prefix):
            raise Open311Error(404, f"jurisdiction_id {wanted} not found")

    async def discovery(self, request: web.Request) -> web.Response:
        # From config, never from the Host header (which any client can set).
        base = self.settings.doors.public_base_url.rstrip("/") + PREFIX
        data = {"changeset": "2026-11-26T00:00:00Z", "contact": self.settings.commune.full_name,
                "key_service": self.services.texts.label("open311_key_service"),
                "endpoints": [{"specification": SPEC_URL, "url": base, "changeset": "2026-11-26T00:00:00Z",
                               "type": "production", "formats": ["application/json", "text/xml"]}]}
        return respond(request, "discovery", data)

    async def services_list(self, request: web.Request) -> web.Response:
        try:
            self._check_jurisdiction(request)
        except Open311Error as exc:
            return error(request, exc.status, exc.description)
        return respond(request, "services", open311.service_list(self.settings))

    async def service_definition(self, request: web.Request) -> web.Response:
        try:
            self._check_jurisdiction(request)
            data = open311.service_definition(self.settings, request.match_info["code"])
        except Open311Error as exc:
            return error(request, exc.status, exc.description)
        return respond(request, "service_definition", data)

    def _views(self, tickets: list[Ticket]) -> list[dict[str, Any]]:
        with read_session(self.services.engine) as session:
            offices = office_names(session)
        texts = self.services.texts
        return [open311.request_view(self.settings, t, offices=offices, status_notes=texts.label(f"status_{t.status}"))
                for t in tickets]

    async def requests_list(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            self._check_jurisdiction(request)
            statuses = tuple(s.strip() for s in q.get("status", "").split(",") if s.strip())
            if any(s not in ("open", "closed") for s in statuses):
                raise Open311Error(400, "status must be open or closed")
            ids = tuple(i for i in q.get("service_request_id", "").split(",") if i.strip())
            if len(ids) > MAX_IDS or any(len(i.strip()) > MAX_ID_CHARS for i in ids):
                raise Open311Error(400, f"at most {MAX_IDS} service_request_id values of {MAX_ID_CHARS} characters")
            query = RequestQuery(
                ids=ids,
                service_codes=tuple(c.strip() for c in q.get("service_code", "").split(",") if c.strip()),
                start=open311.parse_w3c(q["start_date"]) if q.get("start_date") else None,
                end=open311.parse_w3c(q["end_date"]) if q.get("end_date") else None, status=statuses)
        except Open311Error as exc:
            return error(request, exc.status, exc.description)

        def load() -> list[dict[str, Any]]:
            with read_session(self.services.engine) as session:
                tickets = open311.find_requests(session, self.settings, query, now=self.services.clock.now())
            return self._views(tickets)

        return respond(request, "service_requests", await asyncio.to_thread(load))

    async def request_one(self, request: web.Request) -> web.Response:
        code = request.match_info["id"]
        if len(code) > MAX_ID_CHARS:
            return error(request, 404, "service_request_id not found")

        def load() -> list[dict[str, Any]]:
            with read_session(self.services.engine) as session:
                found = open311.find_requests(session, self.settings, RequestQuery(ids=(code,)),
                                              now=self.services.clock.now())
            return self._views(found[:1])

        views = await asyncio.to_thread(load)
        if not views:
            return error(request, 404, f"service_request_id {code} not found")
        return respond(request, "service_requests", views)

    async def token(self, request: web.Request) -> web.Response:
        def load() -> list[dict[str, Any]]:
            with read_session(self.services.engine) as session:
                ticket = open311.token_request(session, request.match_info["token"])
            if ticket is None or not open311.is_public(self.settings, ticket):
                return []
            return [{"service_request_id": ticket.code, "token": request.match_info["token"]}]

        data = await asyncio.to_thread(load)
        if not data:
            return error(request, 404, "token not found")
        return respond(request, "service_requests", data)

    async def create(self, request: web.Request) -> web.Response:
        """POST requests: an API key is required; the request becomes a routed ticket."""
        try:
            form = await request.post()
        except (ValueError, AssertionError, LookupError, UnicodeDecodeError):
            return error(request, 400, "the body must be application/x-www-form-urlencoded or multipart/form-data")
        fields = {str(k): str(v) for k, v in form.items() if isinstance(v, str)}
        key = fields.get("api_key") or request.headers.get("X-Api-Key", "")

        def authorise() -> int | None:
            with write_session(self.services.engine) as session:
                row: ApiKey | None = find_api_key(session, key)
                if row is None:
                    return None
                row.last_used_at = self.services.clock.now()
                return int(row.id or 0)

        api_key_id = await asyncio.to_thread(authorise)
        if api_key_id is None:
            return error(request, 403, "Invalid api_key")
        try:
            self._check_jurisdiction(request, fields)
            ticket, token = await asyncio.to_thread(open311.submit_request, self.service, api_key_id=api_key_id,
                                                    fields=fields)
        except Open311Error as exc:
            return error(request, exc.status, exc.description)
        log.info("ticket %s created via open311 (key #%s)", ticket.code, api_key_id)
        notice = self.services.texts.render("web/open311_notice", code=ticket.code, resolve_due=ticket.resolve_due)
        return respond(request, "service_requests", [{"service_request_id": ticket.code, "token": token,
                                                      "service_notice": notice, "account_id": None}])


def add_open311_routes(app: web.Application, services: Services, service: Service) -> None:
    """Register the GeoReport v2 endpoints; POSTed requests become tickets through `service`."""
    api = Open311(services, service)
    app.router.add_get(f"{PREFIX}/discovery.{FMT}", api.discovery)
    app.router.add_get(f"{PREFIX}/services.{FMT}", api.services_list)
    app.router.add_get(PREFIX + "/services/{code:[a-z_]+}." + FMT, api.service_definition)
    app.router.add_get(f"{PREFIX}/requests.{FMT}", api.requests_list)
    app.router.add_post(f"{PREFIX}/requests.{FMT}", api.create)
    app.router.add_get(PREFIX + "/requests/{id:[A-Za-z0-9-]+}." + FMT, api.request_one)
    app.router.add_get(PREFIX + "/tokens/{token:[A-Za-z0-9_-]+}." + FMT, api.token)
