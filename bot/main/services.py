"""The core's collaborators without any channel: config-derived texts, the classifier, the calendar and a
migrated database. Commands that only make a document (`danvan report`, `register`, `plan`) use this
and never import python-telegram-bot, aiohttp or the scheduler."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.engine import Engine

from bot.config.settings import Category, Settings
from bot.core.clock import Clock, SystemClock
from bot.core.render import Texts
from bot.core.workdays import WorkingCalendar
from bot.jobs.classifier_retrain import active_corrections
from bot.language.classifier import CategorySpec
from bot.language.learning import ModelSlot, build_model
from bot.language.blend import BlendedClassifier
from bot.language.linear import Example
from bot.service.transactions import Services
from bot.core.domain import ZALO_GROUP_PREFIX
from storage.engine import make_engine, write_session
from storage.migrate import upgrade_database
from storage.officials import link_office_group
from storage.tickets import sync_offices


def category_specs(settings: Settings) -> list[CategorySpec]:
    return [CategorySpec(code=c.code, name=c.name, keywords=tuple(c.keywords), office=c.office)
            for c in settings.categories]


def build_classifier(settings: Settings, engine: Engine | None = None) -> ModelSlot:
    """The category classifier: the shipped labelled set plus (with a database) the corrections
    of the active model version. Fitted on first use, never here: a command that never
    classifies never trains it (nor imports scikit-learn)."""
    specs = category_specs(settings)
    if engine is None:
        return ModelSlot(specs, lambda: _fitted(settings.categories, ()))
    return ModelSlot(specs, lambda: _fitted(settings.categories, tuple(active_corrections(engine))))


@lru_cache(maxsize=4)
def _fitted(categories: tuple[Category, ...], corrections: tuple[Example, ...]) -> BlendedClassifier:
    # Fitting takes about two seconds; identical inputs share one fitted model (it is read-only).
    return build_model([CategorySpec(code=c.code, name=c.name, keywords=tuple(c.keywords), office=c.office)
                        for c in categories], corrections).fit()


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
        classifier=build_classifier(settings, engine),
        calendar=WorkingCalendar(extra_days_off=settings.calendar.extra_days_off,
                                 extra_working_days=settings.calendar.extra_working_days),
    )
