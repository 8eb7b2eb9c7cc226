"""The outbox sender against a fake Bot API through python-telegram-bot's real client: faults
(429 with retry_after, 5xx, timeouts), Telegram's limits, dead letters, long messages, restarts."""

from __future__ import annotations

from testkit.outbox_driver import ADMIN, delivered_texts, enqueue, make_bot, make_sender, rows, run_until_drained  # noqa: F401

import asyncio
import json
from collections import defaultdict

import pytest

from bot.core.clock import SystemClock
from bot.core.domain import Reply
from storage.engine import write_session
from storage.outbox import enqueue_message
from testkit.fakes.telegram_api import FakeTelegramAPI















async def test_faults_lose_nothing_keep_order_and_honour_retry_after(engine):
    chats = ["5001", "5002", "-1001", "-1002"]
    expected = {c: [f"Tin {i} gửi {c}" for i in range(8)] for c in chats}
    enqueue(engine, [(c, expected[c][i]) for i in range(8) for c in chats])
    async with FakeTelegramAPI() as fake:
        bot = make_bot(fake, read_timeout=0.4)
        await bot.initialize()
        fake.fail_next("sendMessage", 429, retry_after=1, times=3)
        fake.fail_next("sendMessage", 502, times=2)
        fake.fail_next("sendMessage", 500, times=1)
        sender = make_sender(engine, bot, interval=0.02)

        async def timeouts() -> None:
            await asyncio.sleep(0.6)
            fake.set_delay(0.8)          # longer than the client's read timeout
            await asyncio.sleep(0.9)
            fake.set_delay(0)
            fake.fail_next("sendMessage", 429, retry_after=1, times=2)
            fake.fail_next("sendMessage", 503, times=2)

        injector = asyncio.create_task(timeouts())
        await run_until_drained(sender, engine, timeout=25)
        await injector
        await bot.shutdown()
        calls = list(fake.calls)
        # 0 lost; per-chat order kept: first deliveries in enqueue order (delivery is at-least-once:
        # a send whose answer timed out may still land, later, as a duplicate).
        for chat in chats:
            got = delivered_texts(fake, chat)
            first_seen = list(dict.fromkeys(got))
            assert first_seen == expected[chat], chat
            # Only a send that timed out client-side may show up twice (it landed after all).
            assert len(got) - len(first_seen) <= sum(1 for c in fake.calls if c.chat_id is not None
                                                     and str(c.chat_id) == chat and c.status == 200) - len(first_seen)
        assert all(r.status == "sent" for r in rows(engine))
        # No send to a chat before its retry_after elapsed.
        throttled = [c for c in calls if c.method == "sendMessage" and c.status == 429]
        assert len(throttled) >= 3
        by_chat = defaultdict(list)
        for c in calls:
            if c.method == "sendMessage":
                by_chat[str(c.chat_id)].append(c)
        for hit in throttled:
            later = [c for c in by_chat[str(hit.chat_id)] if c.timestamp > hit.timestamp]
            assert later, "the throttled message was retried"
            assert later[0].timestamp - hit.timestamp >= 1.0, (hit.chat_id, later[0].timestamp - hit.timestamp)
        assert any(c.status >= 500 for c in calls)


async def test_limits_are_respected_without_a_single_429(engine):
    # 40 chats x 1 message must spread over more than a second (30/s); 3 chats x 3 messages at 1/s each.
    enqueue(engine, [(str(6000 + i), f"Thông báo {i}") for i in range(40)])
    enqueue(engine, [(c, f"Nhắc việc {i}") for i in range(3) for c in ("-2001", "-2002", "7001")])
    async with FakeTelegramAPI(enforce_limits=True) as fake:
        bot = make_bot(fake)
        await bot.initialize()
        await run_until_drained(make_sender(engine, bot, interval=1.0), engine, timeout=20)
        await bot.shutdown()
        assert fake.rate_limit_hits == 0
        assert len(fake.sent_messages()) == 49
        assert delivered_texts(fake, "-2001") == [f"Nhắc việc {i}" for i in range(3)]


async def test_dead_letter_alerts_admins_and_does_not_block_the_chat(engine):
    async with FakeTelegramAPI() as fake:
        bot = make_bot(fake)
        await bot.initialize()
        sender = make_sender(engine, bot, interval=0.0, max_attempts=3)
        enqueue(engine, [("5101", "Tin hỏng"), ("5101", "Tin tiếp theo")])
        fake.fail_next("sendMessage", 400, times=1, description="Bad Request: chat not found")
        await run_until_drained(sender, engine, timeout=10)
        enqueue(engine, [("5102", "Tin luôn lỗi")])
        fake.fail_next("sendMessage", 502, times=3)
        await run_until_drained(sender, engine, timeout=10)
        await bot.shutdown()
    by_text = {json.loads(r.payload)["text"]: r for r in rows(engine)}
    assert by_text["Tin hỏng"].status == "dead"
    assert by_text["Tin tiếp theo"].status == "sent"
    assert by_text["Tin luôn lỗi"].status == "dead" and by_text["Tin luôn lỗi"].attempts == 3
    alerts = [r for r in rows(engine) if r.chat_id == ADMIN]
    assert len(alerts) == 2 and all(r.status == "sent" for r in alerts)
    assert delivered_texts(fake, "5101") == ["Tin tiếp theo"]
    assert len(delivered_texts(fake, ADMIN)) == 2


async def test_long_message_is_split_and_a_failed_part_is_not_resent(engine):
    lines = [f"Dòng số {i}: đơn thư cần xử lý trong tuần, đề nghị các đồng chí kiểm tra." for i in range(200)]
    enqueue(engine, [("5201", "\n".join(lines))])
    async with FakeTelegramAPI() as fake:
        bot = make_bot(fake)
        await bot.initialize()
        sender = make_sender(engine, bot, interval=0.0)
        # Let the first part through, then throttle the second.
        original_deliver = fake._deliver  # noqa: SLF001 - wrap the fake, not our code
        count = {"n": 0}

        async def deliver(params, content):  # noqa: ANN001, ANN202
            count["n"] += 1
            if count["n"] == 2:
                from testkit.fakes.telegram_api import ApiError
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            return await original_deliver(params, content)

        fake._deliver = deliver  # noqa: SLF001
        await run_until_drained(sender, engine, timeout=10)
        await bot.shutdown()
    parts = delivered_texts(fake, "5201")
    assert len(parts) >= 3 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts).split("\n") == lines            # every line once, in order


async def test_unsent_rows_go_out_after_a_restart(engine):
    enqueue(engine, [("5301", f"Tin {i}") for i in range(5)])
    async with FakeTelegramAPI() as fake:
        bot = make_bot(fake)
        await bot.initialize()
        first = make_sender(engine, bot, interval=0.3)
        stop = asyncio.Event()
        task = asyncio.create_task(first.run(stop))
        await fake.wait_for_messages(5301, 2)
        task.cancel()                               # the process dies mid-drain
        with pytest.raises(asyncio.CancelledError):
            await task
        await run_until_drained(make_sender(engine, bot, interval=0.0), engine, timeout=10)
        await bot.shutdown()
    texts = delivered_texts(fake, "5301")
    assert list(dict.fromkeys(texts)) == [f"Tin {i}" for i in range(5)]


async def test_digest_chart_goes_out_as_a_photo_after_the_text(engine, tmp_path):
    from bot.core.domain import Attachment

    png = tmp_path / "chart.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    clock = SystemClock()
    with write_session(engine) as session:
        enqueue_message(session, channel="telegram", chat_id="9401", now=clock.now(), payload=Reply(
            text="📊 <b>Tổng hợp đơn thư tuần 24/2026</b>",
            attachments=(Attachment(kind="photo", path=str(png), name="Biểu đồ đơn thư tuần 24/2026"),)).to_json())
    async with FakeTelegramAPI() as fake:
        bot = make_bot(fake)
        await bot.initialize()
        await run_until_drained(make_sender(engine, bot, interval=0.0), engine, timeout=10)
        await bot.shutdown()
        sent = fake.sent_messages(9401)
    assert [("text" in m, "photo" in m) for m in sent] == [(True, False), (False, True)]
    assert sent[1]["caption"] == "Biểu đồ đơn thư tuần 24/2026"
