"""Rendering for a Zalo OA group (GMF): the group recipient, plain text, no buttons, split at the limit."""

from __future__ import annotations

from bot.config.settings import ZaloSettings
from bot.core.domain import Button, Reply
from bot.core.render import Texts
from notifications.zalo.sender import ZaloSender


def test_group_bodies_are_text_only_for_the_group():
    sender = ZaloSender(client=None, tokens=None, texts=Texts(), settings=ZaloSettings())  # type: ignore[arg-type]
    reply = Reply(text="<b>Hồ sơ XG-2026-000001</b> &amp; " + "nội dung " * 300,
                  buttons=((Button("✅ Tiếp nhận", "x:abcdefgh1234"),),))
    bodies = sender.render("group:7000000000000000045", reply)
    assert len(bodies) == 2 and all(b["recipient"] == {"group_id": "7000000000000000045"} for b in bodies)
    assert all("attachment" not in b["message"] and len(b["message"]["text"]) <= 2000 for b in bodies)
    assert bodies[0]["message"]["text"].startswith("Hồ sơ XG-2026-000001 & ")
    private = sender.render("8400000000000000001", reply)
    assert private[0]["recipient"] == {"user_id": "8400000000000000001"} and private[-1]["message"]["attachment"]
