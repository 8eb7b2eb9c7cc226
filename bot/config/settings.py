"""Configuration: config.yaml plus environment, loaded once into frozen, typed objects.

Secrets never live in config.yaml: they come from the environment or a git-ignored `.env`.
Any key can be overridden as ``DANVAN__SECTION__KEY`` (values are parsed as YAML, so lists
and numbers work). A wrong config raises :class:`ConfigError` naming file, key and reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError, model_validator

from bot.config.doors import DoorSettings

from bot.config.sections import (  # noqa: F401 - the sections are imported from here by every caller
    TICKET_TYPE_CODES,
    COMPLAINT_TYPE_CODES,
    CATEGORY_CODES,
    OFFICE_CODES,
    _Frozen,
    Commune,
    TelegramSettings,
    WebSettings,
    StorageSettings,
    IntakeSettings,
    Office,
    Category,
    TicketTypeSpec,
    DeadlineSettings,
    RoutingSettings,
    CalendarSettings,
    QuietHours,
    ReminderSettings,
    PrivacySettings,
    SurveySettings,
    OfficialsSettings,
    PortalSettings,
    ReportSettings,
    ZaloTemplateSettings,
    ZaloSettings,
    WeeklySlot,
    ReceptionSettings,
    ReportDeadline,
    ScheduleSettings,
    HotspotSettings,
    MediationSettings,
    DeliverySettings,
)

ENV_PREFIX = "DANVAN__"
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


class ConfigError(Exception):
    """A configuration problem worth a one-line message, not a traceback."""


RETIRED_KEYS = MappingProxyType({
    ("portal", "hot_spot_cosigners"): "hotspots.cosigners",
    ("reports", "six_month_deadline"): "schedule.report_deadlines (kind: 6m)",
    ("reports", "annual_deadline"): "schedule.report_deadlines (kind: year)",
})


class Settings(_Frozen):
    """The whole configuration, frozen after load."""

    commune: Commune
    telegram: TelegramSettings = TelegramSettings()
    web: WebSettings = WebSettings()
    storage: StorageSettings = StorageSettings()
    intake: IntakeSettings = IntakeSettings()
    offices: tuple[Office, ...]
    categories: tuple[Category, ...]
    deadlines: DeadlineSettings = DeadlineSettings()
    ticket_types: tuple[TicketTypeSpec, ...]
    routing: RoutingSettings = RoutingSettings()
    hamlets: tuple[str, ...]
    calendar: CalendarSettings = CalendarSettings()
    reminders: ReminderSettings = ReminderSettings()
    privacy: PrivacySettings = PrivacySettings()
    surveys: SurveySettings = SurveySettings()
    officials: OfficialsSettings = OfficialsSettings()
    portal: PortalSettings = PortalSettings()
    reports: ReportSettings = ReportSettings()
    zalo: ZaloSettings = ZaloSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    hotspots: HotspotSettings = HotspotSettings()
    delivery: DeliverySettings = DeliverySettings()
    doors: DoorSettings = DoorSettings()
    mediation: MediationSettings = MediationSettings()

    @model_validator(mode="before")
    @classmethod
    def _no_retired_keys(cls, raw: Any) -> Any:
        """A value is configured once: an old duplicate key fails, naming the key that replaced it."""
        if isinstance(raw, dict):
            for (section, key), replacement in RETIRED_KEYS.items():
                if isinstance(raw.get(section), dict) and key in raw[section]:
                    raise ValueError(f"{section}.{key} is no longer read: configure {replacement} instead")
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        office_codes = {o.code for o in self.offices}
        if len(office_codes) != len(self.offices):
            raise ValueError("offices: duplicate office code")
        for c in self.categories:
            if c.office not in office_codes:
                raise ValueError(f"categories: {c.code} names unknown office {c.office!r}")
        missing = set(CATEGORY_CODES) - {c.code for c in self.categories}
        if missing:
            raise ValueError(f"categories: missing {', '.join(sorted(missing))}")
        missing_types = set(TICKET_TYPE_CODES) - {t.code for t in self.ticket_types}
        if missing_types:
            raise ValueError(f"ticket_types: missing {', '.join(sorted(missing_types))}")
        for t in self.ticket_types:
            if self.deadlines.rule_set not in t.rules:
                raise ValueError(f"ticket_types: {t.code} has no rule set {self.deadlines.rule_set!r}")
        if self.routing.complaints_office not in office_codes:
            raise ValueError(f"routing.complaints_office: unknown office {self.routing.complaints_office!r}")
        for hamlet, mapping in self.routing.hamlet_overrides.items():
            for cat, office in mapping.items():
                if office not in office_codes:
                    raise ValueError(f"routing.hamlet_overrides: {hamlet}/{cat} names unknown office {office!r}")
        if not self.hamlets:
            raise ValueError("hamlets: at least one hamlet is needed")
        return self

    def office(self, code: str) -> Office:
        """The office with this code."""
        return next(o for o in self.offices if o.code == code)

    def category(self, code: str) -> Category:
        """The category with this code."""
        return next(c for c in self.categories if c.code == code)

    def ticket_type(self, code: str) -> TicketTypeSpec:
        """The ticket type with this code."""
        return next(t for t in self.ticket_types if t.code == code)

    @property
    def database_url(self) -> str:
        return self.storage.database_url or "sqlite:///data/danvan.sqlite3"


def _apply_env_overrides(raw: dict[str, Any], environ: dict[str, str]) -> None:
    """Write DANVAN__SECTION__KEY values into the raw mapping (values parsed as YAML)."""
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split("__") if part]
        if not path:
            continue
        node = raw
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        try:
            node[path[-1]] = yaml.safe_load(value) if value != "" else ""
        except yaml.YAMLError:
            node[path[-1]] = value


def _apply_secrets(raw: dict[str, Any], environ: dict[str, str]) -> None:
    """Copy the well-known secret variables into their sections."""
    secrets = {
        "TELEGRAM_BOT_TOKEN": ("telegram", "bot_token"),
        "TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
        "DATABASE_URL": ("storage", "database_url"),
        "ZALO_APP_ID": ("zalo", "app_id"),
        "ZALO_APP_SECRET": ("zalo", "app_secret"),
        "ZALO_OA_SECRET_KEY": ("zalo", "oa_secret_key"),
        "ZALO_REFRESH_TOKEN": ("zalo", "refresh_token"),
        "DANVAN_METRICS_TOKEN": ("doors", "metrics_token"),
    }
    for env_name, (section, key) in secrets.items():
        if environ.get(env_name):
            raw.setdefault(section, {})
            if not isinstance(raw[section], dict):
                raise ConfigError(f"environment: section {section!r} is not a mapping")
            raw[section][key] = environ[env_name]


def load_settings(path: str | Path | None = None, *, environ: dict[str, str] | None = None,
                  dotenv: bool = True) -> Settings:
    """Load config.yaml (or `path`), apply the environment, validate, or raise ConfigError."""
    if path is None:
        local = Path.cwd() / "config.yaml"
        path = os.environ.get("DANVAN_CONFIG") or (local if local.exists() else DEFAULT_CONFIG)
    path = Path(path)
    if dotenv and environ is None:
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env", override=False)
    env = dict(os.environ if environ is None else environ)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    _apply_env_overrides(raw, env)
    _apply_secrets(raw, env)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        reason = err["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: key {key!r}: {reason}{more}") from None
