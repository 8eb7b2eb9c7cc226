"""The sections of config.yaml as frozen, typed models (the loader and `Settings` are in bot.config.settings)."""


from datetime import date, time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config.zalo_groups import ZaloGroupSettings
from bot.config.deadline_rules import TypeRules, rules_from_config


TICKET_TYPE_CODES = ("phan_anh", "kien_nghi", "gop_y", "khieu_nai", "to_cao")
# khiếu nại and tố cáo: identity required, archived by law, never public (bot.core.domain.COMPLAINT_TYPES)
COMPLAINT_TYPE_CODES = ("khieu_nai", "to_cao")
CATEGORY_CODES = (
    "dat_dai", "xay_dung", "ha_tang", "moi_truong", "nong_nghiep", "an_sinh", "van_hoa",
    "giao_duc", "y_te", "hanh_chinh", "an_ninh", "quoc_phong", "can_bo", "khac",
)
OFFICE_CODES = ("VP", "KT", "VHXH", "HCC", "CA", "QS")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


class Commune(_Frozen):
    name: str
    full_name: str
    province: str
    code_prefix: str = Field(pattern=r"^[A-Z]{1,6}$")
    admin_code: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    hotline: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class TelegramSettings(_Frozen):
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str = ""
    webhook_path: str = "/telegram/webhook"
    per_chat_interval: float = Field(default=1.0, ge=0)
    # This process's share of Telegram's ~30 messages/s per bot: with N instances, 30 // N each.
    messages_per_second: int = Field(default=30, ge=1)
    bot_token: str = ""
    webhook_secret: str = ""


class WebSettings(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = ""               # e.g. https://danvan.xuangiang.gov.vn: cards link to /can-bo/phieu/<code> (the back office)
    session_idle_minutes: int = Field(default=120, ge=5)     # back office: signed out after this long idle
    login_link_minutes: int = Field(default=10, ge=1, le=60)  # a sign-in link works once, this long
    documents_offices: tuple[str, ...] = ("VHXH",)          # besides leaders, who download register and report


class StorageSettings(_Frozen):
    database_url: str = ""
    attachments_dir: str = "data/attachments"
    # Outbox ids delivered but not yet marked sent (notifications/delivery_journal.py); "" turns it off.
    delivery_journal: str = "data/outbox-delivered.journal"
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, gt=0)


class IntakeSettings(_Frozen):
    min_description_chars: int = Field(default=15, ge=1)
    min_description_words: int = Field(default=4, ge=1)
    max_text_chars: int = Field(default=6000, ge=100)
    max_attachments: int = Field(default=10, ge=0)
    messages_per_minute: int = Field(default=30, ge=1)     # beyond this a person is slowed down (flood)
    max_tickets_per_day: int = Field(default=5, ge=1)      # petitions one chat may file in 24 hours


class Office(_Frozen):
    code: str
    name: str
    telegram_chat_id: str = ""
    zalo_group_id: str = ""            # an existing Zalo OA group (GMF) linked to this office

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        if value not in OFFICE_CODES:
            raise ValueError(f"unknown office code {value!r}; expected one of {', '.join(OFFICE_CODES)}")
        return value

    @field_validator("telegram_chat_id", mode="before")
    @classmethod
    def _chat_id_as_text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class Category(_Frozen):
    code: str
    name: str
    office: str
    keywords: tuple[str, ...] = ()

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        if value not in CATEGORY_CODES:
            raise ValueError(f"unknown category code {value!r}")
        return value


class TicketTypeSpec(_Frozen):
    code: str
    name: str
    hint: str = ""
    identity: Literal["optional", "required", "required_or_information"] = "optional"
    rules: dict[str, dict[str, Any]]

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        if value not in TICKET_TYPE_CODES:
            raise ValueError(f"unknown ticket type {value!r}; expected one of {', '.join(TICKET_TYPE_CODES)}")
        return value

    @field_validator("rules")
    @classmethod
    def _valid_rules(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, raw in value.items():
            try:
                rules_from_config(raw)
            except ValueError as exc:
                raise ValueError(f"rule set {name!r}: {exc}") from exc
        return value

    def type_rules(self, rule_set: str) -> TypeRules:
        """The deadline rules of this type under the named rule set."""
        return rules_from_config(self.rules[rule_set])


class DeadlineSettings(_Frozen):
    rule_set: str = "2026"


class RoutingSettings(_Frozen):
    complaints_office: str = "VP"
    hamlet_overrides: dict[str, dict[str, str]] = Field(default_factory=dict)


class CalendarSettings(_Frozen):
    extra_days_off: tuple[date, ...] = ()
    extra_working_days: tuple[date, ...] = ()


class QuietHours(_Frozen):
    start: time = time(21, 0)
    end: time = time(7, 0)


class ReminderSettings(_Frozen):
    offsets_working_days: tuple[int, ...] = (3, 1)
    due_day_time: time = time(8, 0)
    quiet_hours: QuietHours = QuietHours()


class PrivacySettings(_Frozen):
    retention_days: int = Field(default=1825, ge=30)   # personal data of finished petitions


class SurveySettings(_Frozen):
    remind_after_days: int = Field(default=3, ge=1)     # ask once more after this many days
    close_after_days: int = Field(default=7, ge=1)      # then the resolved ticket closes by itself


class OfficialsSettings(_Frozen):
    invite_hours: int = Field(default=72, ge=1)


class PortalSettings(_Frozen):
    """The public web face, the web chat and Open311: what may be shown to everyone."""

    public_types: tuple[str, ...] = ("phan_anh", "kien_nghi", "gop_y")
    public_categories: tuple[str, ...] = tuple(c for c in CATEGORY_CODES if c != "can_bo")
    publish_answers: bool = False
    publish_descriptions: bool = False
    embed_origins: tuple[str, ...] = ()
    lookup_attempts_per_hour: int = Field(default=10, ge=1)
    chat_messages_per_minute: int = Field(default=30, ge=1)
    hot_spot_same_place: int = Field(default=3, ge=2)
    trend_months: int = Field(default=6, ge=1, le=24)
    public_cache_seconds: float = Field(default=30.0, ge=0)
    trusted_proxies: tuple[str, ...] = ()     # addresses or networks of our reverse proxies
    metrics_enabled: bool = True

    @field_validator("public_types")
    @classmethod
    def _never_complaints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if code not in TICKET_TYPE_CODES:
                raise ValueError(f"unknown ticket type {code!r}")
            if code in COMPLAINT_TYPE_CODES:
                raise ValueError(f"{code} is never public (khiếu nại and tố cáo stay private)")
        return value

    @field_validator("public_categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if code not in CATEGORY_CODES:
                raise ValueError(f"unknown category code {code!r}")
        return value


class ReportSettings(_Frozen):
    """The periodic petition report (NĐ 30/2020 layout): signer, recipients, when drafts go out."""

    number_prefix: str = "…"
    signer_title: str = "CHỦ TỊCH"
    signer_name: str = ""
    recipients: tuple[str, ...] = ("UBND tỉnh Tuyên Quang (b/c)", "Thường trực Đảng ủy xã (b/c)",
                                   "Thường trực HĐND xã", "Chủ tịch, các Phó Chủ tịch UBND xã",
                                   "Ủy ban MTTQ Việt Nam xã")
    draft_days_before: int = Field(default=10, ge=0, le=60)
    leader_chat_ids: tuple[str, ...] = ()
    output_dir: str = "data/reports"

    @field_validator("leader_chat_ids", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else value


class ZaloTemplateSettings(_Frozen):
    """An approved OA template message used when the 7-day consultation window is closed (verify)."""

    template_id: str = ""
    path: str = "/v3.0/oa/message/template"
    text_param: str = "noi_dung"
    max_chars: int = Field(default=250, ge=20)


class ZaloSettings(_Frozen):
    """The Zalo Official Account channel; every uncertain wire detail is a setting (channels.md)."""

    api_base_url: str = "https://openapi.zalo.me"
    oauth_base_url: str = "https://oauth.zaloapp.com"
    webhook_path: str = "/zalo/webhook"
    message_path: str = "/v3.0/oa/message/cs"
    upload_image_path: str = "/v2.0/oa/upload/image"
    token_path: str = "/v4/oa/access_token"
    permission_path: str = "/v4/oa/permission"
    redirect_uri: str = ""
    text_limit: int = Field(default=2000, ge=100)
    max_buttons: int = Field(default=5, ge=1)
    button_title_limit: int = Field(default=100, ge=10)
    button_type: str = "oa.query.show"
    button_template_type: str = ""          # "" omits template_type (the shape most users send)
    request_info_image_url: str = ""
    consultation_window_hours: float = Field(default=168, gt=0)
    window_margin_minutes: float = Field(default=30, ge=0)
    signature_max_age_hours: float = Field(default=72, ge=0)   # 0: accept any body timestamp
    token_refresh_early_seconds: int = Field(default=3600, ge=0)
    rate_limit_retry_seconds: float = Field(default=60, gt=0)
    per_chat_interval: float = Field(default=0.2, ge=0)
    messages_per_second: int = Field(default=40, ge=1)   # app limit reported at 4,000 requests/minute
    http_timeout: float = Field(default=10, gt=0)
    admin_chat_id: str = ""                 # token/quota alerts: a Telegram chat id, or "zalo:USER_ID" /
                                            # "zalo:group:GROUP_ID"; default: the VP office's group
    template: ZaloTemplateSettings = ZaloTemplateSettings()
    group: ZaloGroupSettings = ZaloGroupSettings()
    app_id: str = ""
    app_secret: str = ""
    oa_secret_key: str = ""
    refresh_token: str = ""

    @field_validator("admin_chat_id", mode="before")
    @classmethod
    def _chat_id_as_text(cls, value: Any) -> str:
        return "" if value is None else str(value)

    @property
    def enabled(self) -> bool:
        """The channel runs when the app id and both secrets are configured."""
        return bool(self.app_id and self.app_secret and self.oa_secret_key)


class WeeklySlot(_Frozen):
    weekday: int = Field(default=0, ge=0, le=6)   # 0 = Monday; moves to the week's first working day
    at: time = time(7, 0)


class ReceptionSettings(_Frozen):
    weekday: int = Field(default=3, ge=0, le=6)   # the chairman's citizen reception day (0 = Monday)
    brief_at: time = time(14, 0)                  # leaders get the brief on the working day before
    max_cases: int = Field(default=20, ge=1)      # cases listed in the brief; the rest are counted


class ReportDeadline(_Frozen):
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    name: str
    kind: str = Field(default="", pattern=r"^(6m|year|)$")   # which petition report falls due then


class ScheduleSettings(_Frozen):
    """When the scheduler's jobs fire (local time, Asia/Ho_Chi_Minh unless commune.timezone says else)."""

    scan_minutes: int = Field(default=2, ge=1, le=60)
    first_scan_delay_seconds: int = Field(default=60, ge=0)
    escalation_at: time = time(8, 30)
    weekly_plan: WeeklySlot = WeeklySlot(weekday=0, at=time(7, 0))
    weekly_plan_max_lines: int = Field(default=25, ge=1)   # per list in chat; the full plan is attached
    digest: WeeklySlot = WeeklySlot(weekday=0, at=time(7, 30))
    reception: ReceptionSettings = ReceptionSettings()
    report_deadlines: tuple[ReportDeadline, ...] = (
        ReportDeadline(month=5, day=31, name="Báo cáo kết quả 6 tháng", kind="6m"),
        ReportDeadline(month=11, day=30, name="Báo cáo tổng kết năm", kind="year"))
    report_offsets_days: tuple[int, ...] = (10, 3)
    report_at: time = time(8, 0)
    leaders_chat_id: str = ""                     # a leaders' group; used when no leader is registered
    satisfaction_target: float = Field(default=0.95, gt=0, le=1)
    digest_dir: str = "data/digests"

    @field_validator("leaders_chat_id", mode="before")
    @classmethod
    def _chat_id_as_text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class HotspotSettings(_Frozen):
    cosigners: int = Field(default=5, ge=2)             # đơn đông người from this many co-signers
    cluster_size: int = Field(default=3, ge=2)          # open tickets, same hamlet and category...
    window_days: int = Field(default=14, ge=1)          # ...received within this many days
    similarity: int = Field(default=45, ge=1, le=100)   # near-duplicate word overlap score (0-100)
    alert_max_age_hours: int = Field(default=48, ge=1)  # older tickets are linked but not alerted


class MediationSettings(_Frozen):
    """Hòa giải ở cơ sở (Luật Hòa giải ở cơ sở 2013): how long the team leader has to assign
    mediators and to start, from the referral. VERIFY against the law (docs/deadlines.md)."""

    assign_days: int = Field(default=3, ge=1, le=30)
    start_days: int = Field(default=5, ge=1, le=60)
    working_days: bool = True
    justice_office: str = "VP"       # the commune's Tư pháp official sits here and may see the parties


class DeliverySettings(_Frozen):
    max_attempts: int = Field(default=8, ge=1)
    base_delay: float = Field(default=2.0, gt=0)
    max_delay: float = Field(default=900.0, gt=0)
    admin_chat_ids: tuple[str, ...] = ()                # told when a message is given up (dead letter)
    zalo_window_days: int = Field(default=7, ge=1)

    @field_validator("admin_chat_ids", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> tuple[str, ...]:
        return tuple(str(v) for v in (value or ()))


# Keys that duplicated another one (issue 11): each value is configured once.
