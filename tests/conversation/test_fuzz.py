"""Fuzzing the edges: the conversation engine and the Telegram update parser never raise, and
every message a person sends gets an answer."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from telegram import Bot, Update

from bot.core.domain import Attachment, Channel, Contact, Inbound, Location
from handlers.telegram.updates import inbound_from_update
from testkit.drivers import CoreChat

_ids = itertools.count()
BOT = Bot("123:ABC")  # building a Bot costs ~0.1 s (its HTTP client): one for all examples
texts = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["/start", "/huy", "/tracuu", "/tracuu XG-2026-000001 123456", "/huongdan", "1", "2", "9",
                     "0", "-1", "huy", "Đồng ý", "dong y", "😀", "\u200b\u202e", "<b>", "&amp;", " ", "",
                     "Đường thôn Mẫu 1 bị sạt lở nặng xe không đi được", "Nguyễn Văn An 0912345678",
                     "XG-2026-000001", "99999:abc", "1:submit", "0:yes", "3:" + "x" * 60]),
)
payloads = st.one_of(st.none(), st.text(max_size=70), st.from_regex(r"\A\d{1,3}:[a-z_0-9]{1,12}\Z"))
events = st.fixed_dictionaries({
    "text": texts,
    "payload": payloads,
    "contact": st.one_of(st.none(), st.builds(Contact, phone=st.text(max_size=15), name=st.text(max_size=20),
                                              owner_id=st.sampled_from(["", "fuzzer", "someone-else"]))),
    "location": st.one_of(st.none(), st.builds(Location, latitude=st.floats(-90, 90), longitude=st.floats(-180, 180))),
    "attachments": st.lists(st.builds(Attachment, kind=st.sampled_from(["photo", "voice", "document", "sticker"]),
                                      ref=st.text(max_size=10), size=st.integers(0, 10**8)), max_size=3),
})


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(sequence=st.lists(events, min_size=1, max_size=8))
def test_conversation_engine_answers_everything(service, sequence):
    chat = CoreChat(service, user_id=f"fuzzer{next(_ids)}", channel=Channel.TELEGRAM)
    for event in sequence:
        replies = chat.send(event["text"], payload=event["payload"], contact=event["contact"],
                            location=event["location"], attachments=tuple(event["attachments"]))
        assert replies, f"no answer to {event!r}"
        assert all(r.text.strip() for r in replies)


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=20)),
                           lambda children: st.one_of(st.lists(children, max_size=4),
                                                      st.dictionaries(st.text(max_size=12), children, max_size=5)),
                           max_leaves=20)
update_like = st.fixed_dictionaries(
    {"update_id": st.integers(0, 2**40)},
    optional={"message": st.dictionaries(st.sampled_from(["message_id", "date", "chat", "from", "text", "photo",
                                                          "contact", "location", "caption", "voice"]),
                                         json_values, max_size=8),
              "callback_query": st.dictionaries(st.sampled_from(["id", "from", "data", "message", "chat_instance"]),
                                                json_values, max_size=5),
              "edited_message": json_values, "my_chat_member": json_values})


@hsettings(max_examples=300, deadline=None)
@given(data=update_like)
def test_update_parser_never_crashes_beyond_a_clean_refusal(data):
    try:
        update = Update.de_json(data, BOT)
    except Exception:  # noqa: BLE001 - the webhook answers 400 to anything PTB cannot read
        return
    inbound = inbound_from_update(update)
    assert inbound is None or isinstance(inbound, Inbound)
