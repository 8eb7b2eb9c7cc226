"""The back office's pages over HTTP: queue, ticket page and its actions, files, dashboard and
documents. A ticket, file or document the official may not see is a plain 404, like an unknown one."""

from __future__ import annotations

import mimetypes
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp import web

from bot.backoffice import dashboard as dash
from bot.backoffice import downloads
from bot.backoffice.desk import Desk
from bot.backoffice.queue import build_queue, parse_filters
from bot.backoffice.ticket_page import build_ticket_page, visible_attachment, visible_ticket
from bot.backoffice.web_actions import perform, preview, reveal
from bot.documents.report_docx import percent
from handlers.web.backoffice.auth import PATH, BackofficeAuth, Visitor, no_store
from handlers.web.public import trend_chart
from handlers.web.security import CSRF_FIELD

def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class BackofficePages:
    def __init__(self, auth: BackofficeAuth) -> None:
        self.auth = auth

    def not_found(self) -> web.Response:
        """The same answer for unknown and forbidden (nobody learns another office's codes); returned,
        not raised, so the doors' middleware keeps this page instead of its plain-text refusal."""
        return self.auth.render("not_found", status=404)

    def page(self, name: str, visitor: Visitor, *, status: int = 200, **context: Any) -> web.Response:
        return self.auth.render(name, status=status, me=visitor.official, csrf=self.auth.csrf(visitor),
                                leader=visitor.official.role == "leader", pct=percent,
                                label=self.auth.services.texts.label, **context)

    async def home(self, request: web.Request) -> web.StreamResponse:
        visitor = await self.auth.require(request)
        raise web.HTTPSeeOther(f"{PATH}/tong-quan" if visitor.official.role in ("leader", "inspector")
                               else f"{PATH}/hang-doi")

    async def queue(self, request: web.Request) -> web.Response:
        visitor = await self.auth.require(request)

        def work(desk: Desk) -> dict[str, Any] | None:
            return build_queue(desk, parse_filters(request.query, desk))

        data = await self.auth.run(visitor, work)
        if data is None:
            return self.page("denied", visitor, status=403)
        return self.page("queue", visitor, q=data)

    async def ticket(self, request: web.Request) -> web.Response:
        visitor = await self.auth.require(request)
        code = request.match_info["code"].upper()[:32]

        def work(desk: Desk) -> dict[str, Any] | None:
            ticket = visible_ticket(desk, code)
            return build_ticket_page(desk, ticket) if ticket is not None else None

        data = await self.auth.run(visitor, work)
        if data is None:
            return self.not_found()
        return self.page("ticket", visitor, p=data, flash=[], ok=True, draft=None)

    async def act(self, request: web.Request) -> web.Response:
        """One action (or its preview) from the ticket page; same policy and audit as the chat card."""
        visitor = await self.auth.require(request)
        form = await request.post()
        self.auth.check_csrf(visitor, str(form.get(CSRF_FIELD, "")))
        code = request.match_info["code"].upper()[:32]
        action = str(form.get("action", ""))[:32]
        text = str(form.get("text", ""))[:20000]
        target = str(form.get("target", ""))[:8]
        wants_preview = form.get("step") == "preview"

        def work(desk: Desk) -> tuple[dict[str, Any], list[str], bool, dict[str, Any] | None] | None:
            ticket = visible_ticket(desk, code)
            if ticket is None:
                return None
            if wants_preview:
                shown = preview(desk, ticket, action, text)
                if shown is not None:
                    return build_ticket_page(desk, ticket), [], True, {"action": action, **shown}
            outcome = perform(desk, ticket, action, text=text, target=target)
            if outcome.ok:
                desk.session.flush()
            refreshed = visible_ticket(desk, code)
            if refreshed is None:          # transferred away from this office: back to the queue
                return {}, outcome.messages, outcome.ok, None
            return build_ticket_page(desk, refreshed), outcome.messages, outcome.ok, None

        result = await self.auth.run(visitor, work, write=not wants_preview)
        if result is None:
            return self.not_found()
        data, messages, ok, draft = result
        if not wants_preview:
            self.auth.wake()
        if not data:
            return self.page("moved", visitor, flash=messages, code=code)
        return self.page("ticket", visitor, status=200 if ok else 409, p=data, flash=messages, ok=ok, draft=draft)

    async def reveal(self, request: web.Request) -> web.Response:
        visitor = await self.auth.require(request)
        form = await request.post()
        self.auth.check_csrf(visitor, str(form.get(CSRF_FIELD, "")))
        code = request.match_info["code"].upper()[:32]
        reason = str(form.get("reason", ""))[:500]

        def work(desk: Desk):  # noqa: ANN202
            ticket = visible_ticket(desk, code)
            if ticket is None:
                return None
            outcome = reveal(desk, ticket, reason)
            return build_ticket_page(desk, ticket), outcome

        result = await self.auth.run(visitor, work, write=True)
        if result is None:
            return self.not_found()
        data, outcome = result
        return self.page("ticket", visitor, status=200 if outcome.ok else 403, p=data, flash=outcome.messages,
                         ok=outcome.ok, draft=None)

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        visitor = await self.auth.require(request)
        try:
            attachment_id = int(request.match_info["id"])
        except ValueError:
            return self.not_found()

        def work(desk: Desk) -> tuple[str, str] | None:
            item = visible_attachment(desk, attachment_id)
            return (item.path, item.mime) if item is not None else None

        found = await self.auth.run(visitor, work)
        if found is None or not Path(found[0]).is_file():
            return self.not_found()
        path, mime = found
        response = web.FileResponse(path, headers={
            "Content-Type": mime or mimetypes.guess_type(path)[0] or "application/octet-stream",
            "Content-Disposition": "inline" if (mime or "").startswith("image/") else "attachment"})
        return no_store(response)

    async def dashboard(self, request: web.Request) -> web.Response:
        visitor = await self.auth.require(request)
        if visitor.official.role not in ("leader", "inspector"):
            return self.not_found()
        data = await self.auth.run(visitor, dash.build_dashboard)
        chart = trend_chart(SimpleNamespace(months=data["trend"]))
        return self.page("dashboard", visitor, d=data, chart=chart)

    async def documents(self, request: web.Request) -> web.Response:
        visitor = await self.auth.require(request)

        def work(desk: Desk) -> dict[str, Any]:
            return {"register": desk.may_download("register"), "plan": desk.may_download("plan"),
                    "today": desk.today}

        rights = await self.auth.run(visitor, work)
        if not (rights["register"] or rights["plan"]):
            return self.not_found()
        return self.page("documents", visitor, rights=rights, error=request.query.get("loi", ""))

    async def download(self, request: web.Request) -> web.StreamResponse:
        visitor = await self.auth.require(request)
        kind = request.match_info["kind"]
        query = request.query

        def work(desk: Desk) -> downloads.Document | None:
            if kind not in ("register", "report", "plan") or not desk.may_download(kind):
                return None
            today = desk.today
            if kind == "register":
                start = _date(query.get("from", "")) or date(today.year, 1, 1)
                end = _date(query.get("to", "")) or today
                document = downloads.register(desk, start, end)
                detail = f"from={start.isoformat()} to={end.isoformat()}"
            elif kind == "report":
                year = int(query.get("year", today.year)) if str(query.get("year", "")).isdigit() else today.year
                period = query.get("period", "6m")
                document = downloads.report(desk, period, year, _date(query.get("from", "")),
                                            _date(query.get("to", "")))
                detail = f"period={period} year={year}"
            else:
                day = _date(query.get("week", "")) or today
                document = downloads.weekly_plan(desk, day)
                detail = f"week={day.isoformat()}"
            downloads.audit_download(desk, kind, detail)
            return document

        try:
            document = await self.auth.run(visitor, work, write=True)
        except downloads.BadPeriod:
            raise web.HTTPSeeOther(f"{PATH}/tai-lieu?loi=period") from None
        if document is None:
            return self.not_found()
        return no_store(web.Response(body=document.body, headers={
            "Content-Type": document.mime, "Content-Disposition": f'attachment; filename="{document.name}"'}))


def add_backoffice_routes(app: web.Application, auth: BackofficeAuth) -> None:
    pages = BackofficePages(auth)
    app.router.add_get(PATH, pages.home)
    app.router.add_get(f"{PATH}/dang-nhap", auth.login_page)
    app.router.add_post(f"{PATH}/dang-nhap", auth.request_link)
    app.router.add_get(f"{PATH}/vao", auth.link_page)
    app.router.add_post(f"{PATH}/vao", auth.sign_in)
    app.router.add_post(f"{PATH}/dang-xuat", auth.sign_out)
    app.router.add_get(f"{PATH}/hang-doi", pages.queue)
    app.router.add_get(f"{PATH}/phieu/{{code}}", pages.ticket)
    app.router.add_post(f"{PATH}/phieu/{{code}}/thao-tac", pages.act)
    app.router.add_post(f"{PATH}/phieu/{{code}}/danh-tinh", pages.reveal)
    app.router.add_get(f"{PATH}/tep/{{id}}", pages.attachment)
    app.router.add_get(f"{PATH}/tong-quan", pages.dashboard)
    app.router.add_get(f"{PATH}/tai-lieu", pages.documents)
    app.router.add_get(f"{PATH}/tai-lieu/{{kind}}", pages.download)
