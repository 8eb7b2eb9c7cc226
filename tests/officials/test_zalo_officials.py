"""Officials on Zalo, in a deployment without Telegram: registration in the OA's private chat, the
office's card in its Zalo group (GMF), typed group commands, private-chat buttons, refusals, the
tố cáo card and the weekly plan. Signed webhooks → danvan's real worker and core → danvan's aiohttp
Zalo client → the fake OA API (private and group endpoints)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from bot.jobs import weekly_plan
from bot.jobs.registry import run_due_jobs
from storage.models import Official, Ticket, TicketEvent
from testkit.zalo_driver import ZaloCitizen, file_petition, settled, start_app
from testkit.zalo_office_driver import ZaloMember, invite, zalo_only_settings

ROAD = "Đường bê tông vào thôn Mẫu 1 bị sụt lún, có ổ gà lớn, trời mưa xe máy đi rất nguy hiểm"
DENOUNCE = "Tố cáo cán bộ địa chính thôn Mẫu 2 nhận tiền để hợp thức hóa đất lấn chiếm"


@pytest.fixture
def groups(zalo) -> dict[str, str]:
    return {code: zalo.add_group(f"Tổ {code}") for code in ("VP", "KT", "VHXH", "HCC", "CA", "QS")}


@pytest.fixture
async def app(tmp_path, database_url, engine, clock, zalo, groups):
    settings = zalo_only_settings(tmp_path, database_url, zalo, groups=groups)
    assert not settings.telegram.bot_token
    running = await start_app(settings, engine, clock)
    yield running
    await running.stop()


def ticket_of(app, code: str) -> Ticket:
    with Session(app.services.engine) as session:
        return session.exec(select(Ticket).where(Ticket.code == code)).one()


def events_of(app, ticket: Ticket) -> list[TicketEvent]:
    with Session(app.services.engine) as session:
        return list(session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)))


async def register(app, zalo, http, user_id: str, name: str, *, role: str = "official", office: str = "KT",
                   group: str = "") -> ZaloMember:
    member = ZaloMember(zalo, http, app, user_id, group)
    answer = member.texts(await member.say(f"/dangky {invite(app, role=role, office=office)} {name}"))
    assert "Đăng ký thành công" in answer, answer
    return member


async def test_group_card_and_commands_on_a_zalo_only_deployment(app, zalo, http, groups):
    kt = groups["KT"]
    an = await register(app, zalo, http, "8400000000000000001", "Lê Văn An", group=kt)
    head = await register(app, zalo, http, "8400000000000000002", "Trần Thị Bình", role="head", group=kt)
    with Session(app.services.engine) as session:
        assert {o.channel for o in session.exec(select(Official))} == {"zalo"}
    citizen = ZaloCitizen(zalo, http, app, "8412345678901234567")
    code = await file_petition(citizen, type_label="Kiến nghị", description=ROAD, name="Nguyễn Văn An",
                               phone="84912345678")
    assert ticket_of(app, code).office_code == "KT"
    await settled(app.services.engine)
    [card] = an.group_new()
    assert code in card.text and "Kiến nghị" in card.text and "Mẫu 1" in card.text and "Hạn giải quyết" in card.text
    assert f"https://danvan.xuangiang.test/can-bo/phieu/{code}" in card.text
    assert f"/tiepnhan {code}" in card.text and not card.buttons and card.path == "/v3.0/oa/group/message"
    assert "<b>" not in card.text

    # Someone in the group who is not a registered official: refused politely, audited, nothing changes.
    stranger = ZaloMember(zalo, http, app, "8499999999999999999", kt)
    refusal = stranger.texts(await stranger.in_group(f"/tiepnhan {code}"))
    assert "chỉ cán bộ đã đăng ký" in refusal and "Không có gì thay đổi" in refusal
    assert ticket_of(app, code).status == "received"
    denied = [e for e in events_of(app, ticket_of(app, code)) if e.action == "denied"]
    assert denied and "reason=not_official" in denied[0].note and denied[0].actor == "zalo:unknown"

    # Accept with diacritics in the command word; the citizen hears on Zalo; a new card message shows it.
    seen = len(zalo.messages(citizen.user_id))
    posted = an.texts(await an.in_group(f"/tiếpnhận {code}"))
    assert "đã được tiếp nhận" in posted and "Lê Văn An" in posted
    assert ticket_of(app, code).status == "accepted"
    assert "tiếp nhận" in citizen.texts(zalo.messages(citizen.user_id)[seen:]).lower()
    # The second accept is stale: told, nothing changes.
    assert "Thao tác không còn áp dụng" in an.texts(await an.in_group(f"/tiepnhan {code}"))

    # Answer (progress) — in the group, with the code; the citizen gets the text.
    seen = len(zalo.messages(citizen.user_id))
    await an.in_group(f"/traloi {code} Đã cử cán bộ xuống kiểm tra hiện trường")
    assert "Đã cử cán bộ xuống kiểm tra hiện trường" in citizen.texts(zalo.messages(citizen.user_id)[seen:])
    assert ticket_of(app, code).status == "in_progress"

    # Extend: an ordinary official may not (refused, audited); the head may.
    assert "trưởng đơn vị" in an.texts(await an.in_group(f"/giahan {code} Cần khảo sát"))
    due = ticket_of(app, code).resolve_due
    seen = len(zalo.messages(citizen.user_id))
    await head.in_group(f"/gia_han {code} Cần khảo sát thực địa cùng thôn")
    assert ticket_of(app, code).resolve_due > due
    assert "gia hạn" in citizen.texts(zalo.messages(citizen.user_id)[seen:]).lower()

    # Transfer to VHXH: the card appears in VHXH's group; KT's group is told it left.
    seen = len(zalo.messages(citizen.user_id))
    await an.in_group(f"/chuyen {code} VHXH thuộc lĩnh vực văn hóa")
    assert ticket_of(app, code).office_code == "VHXH"
    await settled(app.services.engine)
    assert any(code in m.text for m in zalo.group_messages(groups["VHXH"]))
    assert citizen.texts(zalo.messages(citizen.user_id)[seen:])
    # KT's official can no longer act on it.
    assert "đơn vị khác" in an.texts(await an.in_group(f"/tuchoi {code} Không thuộc thẩm quyền"))

    # Refuse, by a VHXH official in VHXH's group.
    vh = await register(app, zalo, http, "8400000000000000003", "Phạm Văn Cường", office="VHXH",
                        group=groups["VHXH"])
    await vh.in_group(f"/tiepnhan {code}")
    seen = len(zalo.messages(citizen.user_id))
    await vh.in_group(f"/tuchoi {code} Đề nghị liên hệ Công ty Điện lực Tuyên Quang")
    assert ticket_of(app, code).status == "refused"
    assert "Điện lực" in citizen.texts(zalo.messages(citizen.user_id)[seen:])
    actions = [e.action for e in events_of(app, ticket_of(app, code)) if e.action != "denied"]
    assert actions[:1] == ["created"] and {"accepted", "progress", "extended", "transferred", "refused"} <= set(actions)

    # /huongdan in the group lists the typed commands.
    help_text = an.texts(await an.in_group("/huongdan")) or an.texts(an.new_messages())
    assert "/tiepnhan" in help_text and "/chuyen" in help_text and "/ghichu" in help_text


async def test_denunciation_card_in_a_zalo_group_carries_no_identity(app, zalo, http, groups):
    citizen = ZaloCitizen(zalo, http, app, "8412345678901234568")
    code = await file_petition(citizen, type_label="Tố cáo", description=DENOUNCE, name="Hoàng Thị Mai",
                               phone="84987654321")
    ticket = ticket_of(app, code)
    await settled(app.services.engine)
    cards = [m for m in zalo.group_messages(groups[ticket.office_code]) if code in m.text]
    assert cards, "the tố cáo card reached no group"
    for card in cards:
        assert "Hoàng Thị Mai" not in card.text and "987654321" not in card.text
        assert "giữ bí mật" in card.text
    assert ticket.type == "to_cao"


async def test_private_chat_buttons_when_the_office_has_no_group(tmp_path, database_url, engine, clock, zalo, http):
    """No group for KT: the card goes to KT's official privately on Zalo, with opaque token buttons."""
    settings = zalo_only_settings(tmp_path, database_url, zalo, groups={})
    app = await start_app(settings, engine, clock)
    try:
        an = await register(app, zalo, http, "8400000000000000011", "Lê Văn An")
        citizen = ZaloCitizen(zalo, http, app, "8412345678901234569")
        code = await file_petition(citizen, type_label="Kiến nghị", description=ROAD, name="Nguyễn Văn An",
                                   phone="84912345678")
        await settled(app.services.engine)
        card = [m for m in an.new_messages() if code in m.text][-1]
        assert card.buttons and all(b["payload"].startswith("x:") and code not in b["payload"] for b in card.buttons)
        accept = next(b for b in card.buttons if "Tiếp nhận" in b["title"])
        seen = len(zalo.messages(citizen.user_id))
        assert "đã tiếp nhận" in an.texts(await an.say(accept["payload"]))
        assert ticket_of(app, code).status == "accepted"
        assert "tiếp nhận" in citizen.texts(zalo.messages(citizen.user_id)[seen:]).lower()
        # The old accept button is stale now.
        assert "Thao tác không còn áp dụng" in an.texts(await an.say(accept["payload"]))
        # Answer through the refreshed card (seven actions: Zalo's numbered list): a prompt, then the text.
        prompt = an.texts(await an.pick("Trả lời"))
        seen = len(zalo.messages(citizen.user_id))
        done = an.texts(await an.say("Đã cử cán bộ kiểm tra, sẽ sửa trong tuần"))
        assert "nội dung" in prompt.lower() or code in prompt
        assert code in done
        assert "sẽ sửa trong tuần" in citizen.texts(zalo.messages(citizen.user_id)[seen:])
        # Transfer by buttons: choose the office, then give the reason.
        await an.pick("Chuyển đơn vị")
        await an.tap("Văn hóa")
        await an.say("Thuộc lĩnh vực văn hóa")
        assert ticket_of(app, code).office_code == "VHXH"
        # A button token pressed by someone else (a citizen) is refused and audited.
        other = ZaloCitizen(zalo, http, app, "8412345678901234570")
        await other.say(accept["payload"])
        assert any(e.action == "denied" for e in events_of(app, ticket_of(app, code)))
    finally:
        await app.stop()


async def test_weekly_plan_reaches_the_zalo_group(app, zalo, http, groups):
    citizen = ZaloCitizen(zalo, http, app, "8412345678901234571")
    code = await file_petition(citizen, type_label="Kiến nghị", description=ROAD, name="Nguyễn Văn An",
                               phone="84912345678")
    await settled(app.services.engine)
    before = len(zalo.group_messages(groups["KT"]))
    services = app.services
    monday = datetime(2026, 11, 30, 0, 10, tzinfo=timezone.utc)      # Monday 07:10 in Hà Nội
    app.services.clock.set(monday)
    run_due_jobs(services.engine, monday, settings=services.settings, texts=services.texts,
                 calendar=services.calendar, jobs=[("weekly_plan", weekly_plan.run_due)], memory={})
    app.sender.wake()
    await zalo.wait_for_group(groups["KT"], before + 1)
    plan = zalo.group_messages(groups["KT"])[-1].text
    assert "Kế hoạch" in plan and code in plan


async def test_group_quota_exhausted_alerts_an_admin_once(tmp_path, database_url, engine, clock, zalo, http, groups):
    admin = "8400000000000000099"

    def mutate(raw: dict) -> None:
        raw["zalo"]["admin_chat_id"] = f"zalo:{admin}"
        raw["zalo"].setdefault("group", {})["quota_error_codes"] = [zalo.state.quota_error]

    settings = zalo_only_settings(tmp_path, database_url, zalo, groups={"KT": groups["KT"]}, mutate=mutate)
    app = await start_app(settings, engine, clock)
    try:
        await ZaloCitizen(zalo, http, app, admin).say("/start")       # the admin's own chat is open
        zalo.state.group_quota_left = 0
        for n in range(2):
            citizen = ZaloCitizen(zalo, http, app, f"84123456789012346{n:02d}")
            await file_petition(citizen, type_label="Kiến nghị", description=ROAD)
        await settled(app.services.engine)
        alerts = [m for m in zalo.messages(admin) if "hạn mức" in m.text]
        assert len(alerts) == 1 and str(zalo.state.quota_error) in alerts[0].text
    finally:
        await app.stop()


async def test_request_info_note_and_the_citizens_answer_in_the_zalo_group(app, zalo, http, groups):
    kt = groups["KT"]
    an = await register(app, zalo, http, "8400000000000000021", "Lê Văn An", group=kt)
    citizen = ZaloCitizen(zalo, http, app, "8412345678901234580")
    code = await file_petition(citizen, type_label="Kiến nghị", description=ROAD, name="Nguyễn Văn An",
                               phone="84912345678")
    await settled(app.services.engine)
    an.group_new()
    usage = an.texts(await an.in_group("/bosung"))
    assert "/bosung MÃ_HỒ_SƠ câu hỏi" in usage
    seen = len(zalo.messages(citizen.user_id))
    await an.in_group(f"/bổ sung {code} Ông/bà cho biết ổ gà ở gần nhà số mấy?")
    assert ticket_of(app, code).status == "waiting_citizen"
    assert "nhà số mấy" in citizen.texts(zalo.messages(citizen.user_id)[seen:])
    await citizen.say("Gần nhà văn hóa thôn, trước cổng nhà số 12")
    await settled(app.services.engine)
    assert any("nhà số 12" in m.text for m in an.group_new())
    seen = len(zalo.messages(citizen.user_id))
    note = an.texts(await an.in_group(f"/ghichu {code} Đã hẹn trưởng thôn sáng thứ Hai"))
    assert "trưởng thôn sáng thứ Hai" in note
    assert "trưởng thôn" not in citizen.texts(zalo.messages(citizen.user_id)[seen:])


async def test_an_office_with_telegram_and_zalo_groups_gets_the_card_in_both(tmp_path, database_url, engine, clock,
                                                                              zalo, http):
    from testkit.config import OFFICE_CHATS
    from testkit.fakes.telegram_api import FakeTelegramAPI
    from testkit.zalo_driver import zalo_settings

    group = zalo.add_group("Tổ Kinh tế")
    async with FakeTelegramAPI() as telegram:
        settings = zalo_settings(tmp_path, database_url, zalo, telegram.url,
                                 mutate=lambda raw: raw["offices"][1].update(zalo_group_id=group))
        app = await start_app(settings, engine, clock)
        try:
            citizen = ZaloCitizen(zalo, http, app, "8412345678901234590")
            code = await file_petition(citizen, type_label="Kiến nghị", description=ROAD)
            await settled(app.services.engine)
            assert any(code in m.text for m in zalo.group_messages(group))
            assert any(code in str(c.params.get("text", "")) and str(c.chat_id) == OFFICE_CHATS["KT"]
                       for c in telegram.calls if c.method == "sendMessage")
        finally:
            await app.stop()


async def test_commands_and_the_leaders_reveal_in_the_oa_private_chat(app, zalo, http, groups):
    an = await register(app, zalo, http, "8400000000000000031", "Lê Văn An", group=groups["KT"])
    leader = await register(app, zalo, http, "8400000000000000032", "Chủ tịch xã", role="leader", office=None)
    road = ZaloCitizen(zalo, http, app, "8412345678901234600")
    code = await file_petition(road, type_label="Kiến nghị", description=ROAD, name="Nguyễn Văn An",
                               phone="84912345678")
    await an.in_group(f"/tiepnhan {code}")
    an.new_messages()
    assert code in an.texts(await an.say("/viec"))
    assert code in an.texts(await an.say("/donvi"))
    assert code in an.texts(await an.say(f"/xem {code}"))
    assert code in an.texts(await an.say("/tim ổ gà"))
    assert "/tiepnhan" in an.texts(await an.say("/huongdan"))
    secret = ZaloCitizen(zalo, http, app, "8412345678901234601")
    denounced = await file_petition(secret, type_label="Tố cáo", description=DENOUNCE, name="Hoàng Thị Mai",
                                    phone="84987654321")
    leader.new_messages()
    revealed = leader.texts(await leader.say(f"/danhtinh {denounced} Phục vụ xác minh theo Luật Tố cáo"))
    assert "Hoàng Thị Mai" in revealed
    assert any(e.action == "identity_revealed" or "reveal" in e.action
               for e in events_of(app, ticket_of(app, denounced)))


async def test_an_official_silent_for_seven_days_gets_the_held_card_when_writing_again(
        tmp_path, database_url, engine, clock, zalo, http):
    from storage.models import OutboxMessage

    settings = zalo_only_settings(tmp_path, database_url, zalo, groups={})
    app = await start_app(settings, engine, clock)
    try:
        an = await register(app, zalo, http, "8400000000000000041", "Lê Văn An")
        zalo.state.closed_window.add(an.user_id)          # Zalo now answers -230 for this official
        citizen = ZaloCitizen(zalo, http, app, "8412345678901234610")
        code = await file_petition(citizen, type_label="Kiến nghị", description=ROAD)
        await settled(app.services.engine)
        assert not [m for m in an.new_messages() if code in m.text]
        with Session(app.services.engine) as session:
            held = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == an.user_id,
                                                            OutboxMessage.status == "held")).all()
        assert held
        # No "phone the citizen" alert: the held chat is an official's, not the citizen's.
        assert all(e.action != "citizen_unreachable" for e in events_of(app, ticket_of(app, code)))
        zalo.state.closed_window.discard(an.user_id)      # the official writes: the window opens again
        await an.say("/viec")
        await settled(app.services.engine)
        assert any(code in m.text and m.buttons for m in zalo.messages(an.user_id))
    finally:
        await app.stop()


async def test_quoting_the_card_names_the_ticket_and_group_ids_are_found_where_sources_put_them(
        app, zalo, http, groups):
    kt = groups["KT"]
    an = await register(app, zalo, http, "8400000000000000051", "Lê Văn An", group=kt)
    citizen = ZaloCitizen(zalo, http, app, "8412345678901234620")
    code = await file_petition(citizen, type_label="Kiến nghị", description=ROAD)
    await settled(app.services.engine)
    [card] = an.group_new()
    # A reply quoting the card, without the code; the group id under message.conversation_id.
    fresh = await an.in_group("/tiepnhan", quote=card.message_id, where="message.conversation_id")
    assert ticket_of(app, code).status == "accepted"
    [latest] = [m for m in fresh if code in m.text and "Trạng thái" in m.text][-1:]
    await an.in_group("/traloi Đã cử người kiểm tra", quote=latest.message_id, where="recipient.id")
    assert ticket_of(app, code).status == "in_progress"


async def test_registering_in_the_group_is_refused_with_directions(app, zalo, http, groups):
    member = ZaloMember(zalo, http, app, "8400000000000000061", groups["KT"])
    code = invite(app)
    answer = member.texts(await member.in_group(f"/dangky {code} Lê Văn An"))
    assert "tin nhắn riêng" in answer
    with Session(app.services.engine) as session:
        assert session.exec(select(Official)).all() == []
    assert "Đăng ký thành công" in member.texts(await member.say(f"/dangky {code} Lê Văn An"))
