"""Walking the citizen intake in the core to a given step."""

from __future__ import annotations

from testkit.drivers import CoreChat


ROAD = "Đường liên thôn đoạn qua thôn Mẫu 2 bị sạt lở nặng, xe máy không đi được, đề nghị xã sửa sớm"


def intake_until_contact(chat: CoreChat, *, type_label: str, description: str = ROAD) -> None:
    chat.send("/start")
    if any("Đồng ý" in label for label, _ in chat.last_buttons()):
        chat.press("Đồng ý")
    chat.press("Gửi phản ánh")
    chat.press(type_label)
    chat.send(description)
    chat.press(chat.last_buttons()[0][0])          # the top suggested category
    chat.send("mau 2")                                # hamlet typed without diacritics
    chat.press("Tiếp tục")
    if any("Một mình" in label for label, _ in chat.last_buttons()):
        chat.press("Một mình")
