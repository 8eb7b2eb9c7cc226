"""Officials' steps in the core: a citizen's ticket submitted, a ticket re-read."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.service.transactions import Service
from storage.models import Ticket
from testkit.drivers import CoreChat

ROAD = "Đường liên thôn đoạn qua thôn Mẫu 2 bị sạt lở nặng, xe máy không đi được, đề nghị xã sửa sớm"


def all_tickets(service: Service) -> list[Ticket]:
    with Session(service.services.engine) as session:
        return list(session.exec(select(Ticket).order_by(col(Ticket.id))))


def ticket_by_owner(service: Service, index: int) -> Ticket:
    return all_tickets(service)[index - 1]


def submit(service: Service, *, user_id: str = "c1", type_label: str = "Phản ánh", description: str = ROAD,
           contact: str | None = "Nguyễn Văn An 0912 345 678") -> tuple[CoreChat, Ticket]:
    chat = CoreChat(service, user_id=user_id)
    chat.send("/start")
    chat.press("Đồng ý")
    chat.press("Gửi phản ánh")
    chat.press(type_label)
    chat.send(description)
    chat.press(chat.last_buttons()[0][0])
    chat.send("mau 2")
    chat.press("Tiếp tục")
    if any("Một mình" in label for label, _ in chat.last_buttons()):
        chat.press("Một mình")
    if contact is None:
        chat.press("Không để lại")
    else:
        chat.press("Nhập họ tên")
        chat.send(contact)
        chat.send("Xóm Trên, thôn Mẫu 1")                     # the sender's own address
    chat.press("Gửi đơn")
    chat.read()
    return chat, ticket_by_owner(service, len(all_tickets(service)))


def fresh(service: Service, ticket: Ticket) -> Ticket:
    with Session(service.services.engine) as session:
        return session.get(Ticket, ticket.id)
