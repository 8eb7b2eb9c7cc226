"""The core's collaborators without any channel: config-derived texts, the classifier, the calendar and a
migrated database. Commands that only make a document (`danvan report`, `register`, `plan`) use this
and never import python-telegram-bot, aiohttp or the scheduler."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from sqlalchemy.engine import Engine

from bot.config.settings import Category, Settings
from bot.core.clock import Clock, SystemClock
from bot.core.render import Texts
from bot.core.workdays import WorkingCalendar
from bot.language.classifier import CategorySpec, Classifier
from bot.service.transactions import Services
from bot.core.domain import ZALO_GROUP_PREFIX
from storage.engine import make_engine, write_session
from storage.migrate import upgrade_database
from storage.officials import link_office_group
from storage.tickets import sync_offices


class LazyClassifier:
    """Builds the classifier at its first use: a command that never classifies never trains it."""

    def __init__(self, factory: Callable[[], Classifier]) -> None:
        self._factory = factory
        self._built: Classifier | None = None

    def __getattr__(self, name: str):
        if self._built is None:
            self._built = self._factory()
        return getattr(self._built, name)


def build_classifier(settings: Settings) -> Classifier:
    """The category classifier from config keywords (plus its shipped seed examples)."""
    return _classifier_for(settings.categories)


@lru_cache(maxsize=4)
def _classifier_for(categories: tuple[Category, ...]) -> Classifier:
    # Training takes most of a second; identical category lists share one classifier.
    return Classifier([CategorySpec(code=c.code, name=c.name, keywords=tuple(c.keywords), office=c.office)
                       for c in categories])


def build_services(settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None,
                   migrate: bool = True) -> Services:
    """Open the database (migrated to head), seed offices, and build the core's collaborators."""
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade_database(engine)
    with write_session(engine) as session:
        sync_offices(session, [(o.code, o.name, o.telegram_chat_id) for o in settings.offices])
        now = (clock or SystemClock()).now()
        for office in settings.offices:
            group_id = office.zalo_group_id.strip().removeprefix(ZALO_GROUP_PREFIX)
            if group_id:                  # an existing Zalo group linked in config
                link_office_group(session, channel="zalo", chat_id=ZALO_GROUP_PREFIX + group_id,
                                  office_code=office.code, now=now)
    return Services(
        settings=settings, engine=engine, clock=clock or SystemClock(), texts=Texts(),
        classifier=LazyClassifier(lambda: build_classifier(settings)),  # type: ignore[arg-type]
        calendar=WorkingCalendar(extra_days_off=settings.calendar.extra_days_off,
                                 extra_working_days=settings.calendar.extra_working_days),
    )
