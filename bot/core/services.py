"""The collaborators every step may use, built once by the composition root (bot.main.services)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.config.settings import Settings
from bot.core.clock import Clock
from bot.core.render import Texts
from bot.core.workdays import WorkingCalendar
from bot.language.classifier import Classifier


@dataclass
class Services:
    """Config, database, clock, texts, classifier and working calendar."""

    settings: Settings
    engine: Engine
    clock: Clock
    texts: Texts
    classifier: Classifier
    calendar: WorkingCalendar
