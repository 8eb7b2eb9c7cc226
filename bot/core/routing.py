"""Routing: which office handles a ticket. Config data decides; khiếu nại/tố cáo go to VP."""

from __future__ import annotations

from bot.config.settings import Settings
from bot.core.domain import COMPLAINT_TYPES


def route_ticket(settings: Settings, *, ticket_type: str, category: str, hamlet: str = "") -> str:
    """The office code for a ticket of this type, category and hamlet."""
    if ticket_type in COMPLAINT_TYPES:
        return settings.routing.complaints_office
    override = settings.routing.hamlet_overrides.get(hamlet, {}).get(category)
    if override:
        return override
    return settings.category(category).office
