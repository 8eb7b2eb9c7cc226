"""The delivery journal: a message the channel confirmed just before the process died (so it was
never marked sent) is not sent again after a restart; everything else still goes out, in order."""

from __future__ import annotations

from pathlib import Path

from notifications.outbox.delivery_journal import DeliveryJournal
from testkit.fakes.telegram_api import FakeTelegramAPI
from testkit.outbox_driver import delivered_texts, enqueue, make_bot, make_sender, rows, run_until_drained


async def test_rows_noted_before_a_crash_are_marked_sent_not_resent(engine, tmp_path: Path):
    enqueue(engine, [("5001", f"Tin {i}") for i in range(4)])
    ids = [r.id for r in rows(engine)]
    path = tmp_path / "outbox-delivered.journal"
    crashed = DeliveryJournal(path)          # the dead process: two deliveries noted, never committed
    crashed.note(ids[0])
    crashed.note(ids[1])
    crashed.close()
    with path.open("ab") as torn:            # killed in the middle of a third line
        torn.write(b"9")

    fake = FakeTelegramAPI()
    await fake.start()
    try:
        bot = make_bot(fake)
        await bot.initialize()
        journal = DeliveryJournal(path)
        await run_until_drained(make_sender(engine, bot, interval=0, journal=journal), engine)
        await bot.shutdown()
    finally:
        await fake.stop()

    assert delivered_texts(fake, "5001") == ["Tin 2", "Tin 3"]
    assert [r.status for r in rows(engine)] == ["sent"] * 4
    assert path.read_bytes() == b""          # emptied once every noted row was committed
    journal.close()


async def test_every_delivery_is_noted_before_it_is_committed(engine, tmp_path: Path):
    """The journal is written at the channel's answer; after the commit it is emptied again."""
    enqueue(engine, [("5002", "Một"), ("5003", "Hai")])
    path = tmp_path / "journal"
    seen: list[list[int]] = []

    class Watching(DeliveryJournal):
        def committed(self, row_ids):
            seen.append(self.noted())        # what a crash right now would leave behind
            super().committed(row_ids)

    fake = FakeTelegramAPI()
    await fake.start()
    try:
        bot = make_bot(fake)
        await bot.initialize()
        await run_until_drained(make_sender(engine, bot, interval=0, journal=Watching(path)), engine)
        await bot.shutdown()
    finally:
        await fake.stop()
    assert {i for batch in seen for i in batch} == {r.id for r in rows(engine)}
    assert path.read_bytes() == b""
