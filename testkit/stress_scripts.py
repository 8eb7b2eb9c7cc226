"""Citizen scripts and update builders for the stress tests (duplicate delivery, crash recovery).

A script is the list of texts one citizen sends; choices are answered by digit, as a person may.
Every update carries an explicit, unique id so a test can redeliver it byte for byte.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from typing import Any

DESCRIPTIONS = [
    "Đường liên thôn đoạn qua thôn Mẫu 1 bị sạt lở, xe máy đi lại rất nguy hiểm",
    "Rác thải đổ bừa bãi cạnh suối gây mùi hôi, đề nghị xã cho thu gom",
    "Đèn đường ngõ xóm hỏng cả tháng nay chưa ai sửa, tối đi lại khó khăn",
    "Có người khai thác cát trái phép ban đêm ở bến sông, xe chở cát làm hỏng đường",
]
PLAIN_TEXTS = ["/start", "Xin chào", "/trogiup", "Cho tôi hỏi giờ làm việc của xã"]
SUBMITTED_MARK = "Mã hồ sơ:"          # templates/vi/citizen/submitted.j2: one per ticket filed


def telegram_intake_script(citizen: int, rounds: int = 1, descriptions: list[str] = DESCRIPTIONS) -> list[str]:
    """Consent once, then `rounds` complete anonymous intakes (skip location, no contact, submit)."""
    script = ["/start", "1"]
    for r in range(rounds):
        script += ["1", "1", descriptions[(citizen + r) % len(descriptions)], "1", "1", "2", "1", "3", "1"]
        if r == 0:
            script.append("2")          # "no, thanks" to the commune's notices (asked once)
    return script


def zalo_intake_script(citizen: int) -> list[str]:
    """One anonymous intake on Zalo (no location step there), then "no" to the notices offer."""
    return ["Xin chào", "1", "1", "1", DESCRIPTIONS[citizen % len(DESCRIPTIONS)], "1", "1", "1", "1", "2", "1", "2"]


def telegram_text_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private text message with an explicit update id (message id = update id, also unique)."""
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": int(time.time()), "text": text,
                        "chat": {"id": user_id, "type": "private", "first_name": "Dân"},
                        "from": {"id": user_id, "is_bot": False, "first_name": "Dân", "language_code": "vi"}}}


def zalo_text_event(app_id: str, oa_id: str, user_id: str, msg_id: str, text: str, timestamp_ms: int) -> dict:
    """A `user_send_text` event as Zalo sends it (string ids, epoch-ms timestamp)."""
    return {"app_id": app_id, "user_id_by_app": f"9{user_id}", "event_name": "user_send_text",
            "sender": {"id": user_id}, "recipient": {"id": oa_id}, "timestamp": str(timestamp_ms),
            "message": {"msg_id": msg_id, "text": text}}


def compact(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def deliveries(sequences: list[list[Any]], *, copies: int, rng: random.Random,
               keep_first_order: list[bool]) -> list[Any]:
    """Every item of every sequence `copies` times, in one shuffled list.

    For a sequence with keep_first_order, the first copies of its items keep their order (a
    redelivery may come any time after its original); otherwise everything is in random order.
    """
    keyed: list[tuple[float, int, Any]] = []
    tie = itertools.count()
    for seq, ordered in zip(sequences, keep_first_order):
        firsts = sorted(rng.random() for _ in seq) if ordered else [rng.random() for _ in seq]
        for item, first in zip(seq, firsts):
            keyed.append((first, next(tie), item))
            for _ in range(copies - 1):
                keyed.append((rng.uniform(first, 1.0) if ordered else rng.random(), next(tie), item))
    keyed.sort()
    return [item for *_, item in keyed]
