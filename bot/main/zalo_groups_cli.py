"""`danvan zalo group create --office KT` (a new OA group through GMF, linked to the office) and
`danvan zalo group link --office KT --group-id ID` (an existing OA group), `danvan zalo group list`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.core.clock import SystemClock
from bot.core.domain import ZALO_GROUP_PREFIX
from notifications.zalo.api import ZaloApiError, ZaloClient
from notifications.zalo.tokens import TokenUnavailable, ZaloTokens
from storage.engine import read_session, write_session
from storage.officials import groups_on_channel, link_office_group, officials_of_office


def add_group_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--office", help="office code (KT, DC, VP, ...)")
    parser.add_argument("--group-id", help="link: the id of an existing Zalo OA group")
    parser.add_argument("--name", help="create: the group's name (default: the office's name)")
    parser.add_argument("--member", action="append", default=[],
                        help="create: a Zalo user id to add (repeatable; default: the office's Zalo officials)")


def _first(node: Any, key: str) -> str:
    """A field of Zalo's `data`, which some answers wrap in a list."""
    if isinstance(node, list):
        node = node[0] if node else {}
    return str(node.get(key) or "") if isinstance(node, dict) else ""


async def create_group(client: ZaloClient, tokens: ZaloTokens, *, name: str, members: list[str],
                       description: str) -> tuple[str, str]:
    """(group_id, group_link) of a new OA group, using the configured quota asset or asking for one."""
    group = client.settings.group
    token = await tokens.access_token()
    asset_id = group.asset_id
    if not asset_id:
        quota = await client.send(token, {"quota_owner": "OA", "product_type": group.product_type,
                                          "quota_type": group.quota_type}, path=group.quota_path)
        asset_id = _first(quota.get("data"), "asset_id")
        if not asset_id:
            raise ZaloApiError(-1, "no group quota (asset_id) available for this OA")
    body: dict[str, Any] = {"group_name": name[:100], "asset_id": asset_id, "member_user_ids": members[:99]}
    if description:
        body["group_description"] = description[:300]
    answer = await client.send(token, body, path=group.create_path)
    group_id = _first(answer.get("data"), "group_id")
    if not group_id:
        raise ZaloApiError(-1, "group created without a group_id in the answer")
    return group_id, _first(answer.get("data"), "group_link")


def cmd_zalo_group(args: argparse.Namespace, services: Any) -> int:
    """The `group` action of `danvan zalo`: create, link or list office groups."""
    settings = services.settings
    operation = args.code or "list"
    if operation == "list":
        with read_session(services.engine) as session:
            rows = groups_on_channel(session, "zalo")
        for row in rows:
            print(f"{row.office_code}\t{row.chat_id.removeprefix(ZALO_GROUP_PREFIX)}")
        return 0
    office_code = (args.office or "").upper()
    if office_code not in {o.code for o in settings.offices}:
        print(f"danvan: give --office, one of {', '.join(o.code for o in settings.offices)}", file=sys.stderr)
        return 2
    now = services.clock.now()
    if operation == "link":
        group_id = (args.group_id or "").strip().removeprefix(ZALO_GROUP_PREFIX)
        if not group_id:
            print("danvan: give --group-id (the Zalo group's id)", file=sys.stderr)
            return 2
        with write_session(services.engine) as session:
            link_office_group(session, channel="zalo", chat_id=ZALO_GROUP_PREFIX + group_id, office_code=office_code,
                              now=now)
        print(f"Zalo group {group_id} linked to office {office_code}.")
        return 0
    if operation != "create":
        print("danvan: zalo group create|link|list", file=sys.stderr)
        return 2
    zalo = settings.zalo
    if not zalo.enabled:
        print("danvan: set ZALO_APP_ID, ZALO_APP_SECRET and ZALO_OA_SECRET_KEY first", file=sys.stderr)
        return 2
    office = settings.office(office_code)
    with read_session(services.engine) as session:
        members = list(args.member) or [o.user_id for o in officials_of_office(session, office_code)
                                        if o.channel == "zalo"]
    client = ZaloClient(zalo)
    tokens = ZaloTokens(services.engine, SystemClock(), client, zalo)

    async def run() -> tuple[str, str]:
        try:
            await asyncio.to_thread(tokens.seed)
            return await create_group(client, tokens, name=args.name or office.name, members=members,
                                      description=office.name)
        finally:
            await client.close()

    try:
        group_id, link = asyncio.run(run())
    except (ZaloApiError, TokenUnavailable) as exc:
        print(f"danvan: Zalo refused to create the group: {exc}", file=sys.stderr)
        return 1
    with write_session(services.engine) as session:
        link_office_group(session, channel="zalo", chat_id=ZALO_GROUP_PREFIX + group_id, office_code=office_code,
                          now=now)
    print(f"Zalo group {group_id} created for office {office_code} ({len(members)} members invited).")
    if link:
        print(f"Invitation link: {link}")
    return 0
