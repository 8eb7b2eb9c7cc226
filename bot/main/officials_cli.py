"""`danvan invite`, `danvan officials list|revoke`, `danvan surveys due|run|stats` and the console
official behind `danvan chat --as official:KT|leader` (wired into bot/cli.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlmodel import Session

from storage.engine import read_session, write_session
from storage.models import Official
from storage.officials import find_official, list_officials


def _services(args: argparse.Namespace) -> Any:
    from bot.main.services import build_services
    from bot.config.settings import load_settings

    return build_services(load_settings(args.config))


def cmd_invite(args: argparse.Namespace) -> int:
    """Print a one-time registration code (only its hash is stored)."""
    from bot.officials.invites import InviteError, create_invite

    services = _services(args)
    settings = services.settings
    try:
        with write_session(services.engine) as session:
            code = create_invite(session, role=args.role, office_code=args.office, now=services.clock.now(),
                                 hours=settings.officials.invite_hours, display_name=args.name or "",
                                 hamlet=args.hamlet or "", hamlets=settings.hamlets)
    except InviteError as exc:
        print(f"danvan: {exc}")
        return 2
    print(services.texts.render("cli/invite_code", hours=settings.officials.invite_hours, code=code))
    return 0


def cmd_officials(args: argparse.Namespace) -> int:
    """List officials, or revoke one (effective on their very next action)."""
    from bot.officials.invites import revoke_official

    services = _services(args)
    if args.action == "list":
        with read_session(services.engine) as session:
            rows = list_officials(session)
        for o in rows:
            state = "active" if o.active else "revoked"
            print(f"{o.id}\t{o.role}\t{o.office_code or '-'}\t{o.channel}\t{state}\t{o.display_name}")
        return 0
    if args.id is None:
        print("danvan: officials revoke needs an id (see `danvan officials list`)")
        return 2
    with write_session(services.engine) as session:
        official = revoke_official(session, args.id)
    if official is None:
        print(f"danvan: no official with id {args.id}")
        return 2
    print(f"official {args.id} revoked")
    return 0


def cmd_surveys(args: argparse.Namespace) -> int:
    """What the scheduler would do now (due), do it (run), or print satisfaction figures (stats)."""
    from bot.intake.surveys import due_survey_actions, run_due_survey_actions, satisfaction_stats

    services = _services(args)
    settings = services.settings
    if args.action == "due":
        with read_session(services.engine) as session:
            actions = due_survey_actions(session, services.clock.now(),
                                         remind_after_days=settings.surveys.remind_after_days,
                                         close_after_days=settings.surveys.close_after_days)
        print(json.dumps([a.__dict__ for a in actions]))
    elif args.action == "run":
        print(json.dumps(run_due_survey_actions(services)))
    else:
        with read_session(services.engine) as session:
            print(json.dumps(satisfaction_stats(session)))
    return 0


def console_identity(session: Session, role_spec: str, *, now: Any, offices: set[str]) -> str:
    """The console user id for --as; officials and leaders are seeded so one person can play each role."""
    if role_spec in ("", "citizen"):
        return "console"
    role, _, office = role_spec.partition(":")
    office = office.upper()
    if role not in ("official", "head", "leader") or (role != "leader" and office not in offices):
        raise ValueError(f"--as must be citizen, official:OFFICE, head:OFFICE or leader; got {role_spec!r}")
    user_id = f"console-{role}-{office}" if office else f"console-{role}"
    official = find_official(session, channel="console", user_id=user_id)
    if official is None:
        official = Official(channel="console", user_id=user_id, created_at=now, role=role,
                            office_code=office or None, display_name=f"{role} {office} (console)".strip())
        session.add(official)
    official.active = True
    return user_id


def add_subcommands(sub: Any) -> None:
    """Register the officials' subcommands on the `danvan` parser."""
    invite = sub.add_parser("invite", help="print a one-time registration code for an official")
    invite.add_argument("--office", help="office code (official, head)")
    invite.add_argument("--role", required=True,
                        choices=["official", "head", "leader", "admin", "inspector", "mediator"])
    invite.add_argument("--hamlet", help="the hamlet of a mediator (the hamlet mediation team's leader)")
    invite.add_argument("--name", help="the official's name as colleagues see it")
    invite.set_defaults(func=cmd_invite)
    officials = sub.add_parser("officials", help="list or revoke officials")
    officials.add_argument("action", choices=["list", "revoke"])
    officials.add_argument("id", nargs="?", type=int)
    officials.set_defaults(func=cmd_officials)
    surveys = sub.add_parser("surveys", help="satisfaction survey reminders, auto-close, statistics")
    surveys.add_argument("action", choices=["due", "run", "stats"])
    surveys.set_defaults(func=cmd_surveys)
