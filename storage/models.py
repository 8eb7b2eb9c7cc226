"""SQLModel tables: the database is the truth for tickets, conversations and the outbox.

All datetimes are aware UTC (SQLModel's UTCDateTime); local dates (deadlines) are
plain dates in the commune's time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.crypto import SealedId, SealedText


class Citizen(SQLModel, table=True):
    """A person who wrote to us; personal fields only with consent."""

    __tablename__ = "citizens"
    id: Optional[int] = Field(default=None, primary_key=True)
    consent: bool = False
    consent_at: Optional[datetime] = None
    name: str = Field(default="", sa_column=Column(SealedText(), nullable=False))
    phone: str = Field(default="", sa_column=Column(SealedText(), nullable=False))
    created_at: datetime
    updated_at: datetime


class ChannelIdentity(SQLModel, table=True):
    """How to reach a citizen on one channel (Telegram user id, Zalo user id...)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_identity_channel_user"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    channel: str = Field(max_length=16)
    user_id: str = Field(sa_column=Column(SealedId(), nullable=False))
    chat_id: str = Field(sa_column=Column(SealedId(), nullable=False))
    last_seen_at: datetime


class Office(SQLModel, table=True):
    """A commune office; seeded from config at start."""

    __tablename__ = "offices"
    code: str = Field(primary_key=True, max_length=8)
    name: str
    telegram_chat_id: str = ""


class Official(SQLModel, table=True):
    """A member of staff bound to a chat account."""

    __tablename__ = "officials"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_official_channel_user"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    office_code: Optional[str] = Field(default=None, foreign_key="offices.code")
    role: str = Field(max_length=16)
    display_name: str = ""
    channel: str = Field(default="telegram", max_length=16)
    user_id: str = Field(max_length=64)
    active: bool = True
    hamlet: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})   # a mediator's thôn
    created_at: datetime


class TicketSequence(SQLModel, table=True):
    """The last number given per code prefix and year, so codes never repeat."""

    __tablename__ = "ticket_sequences"
    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last_value: int = 0


class Ticket(SQLModel, table=True):
    """One petition (đơn) and its deadlines; personal data of tố cáo lives elsewhere."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_resolve_due", "status", "resolve_due"),
        Index("ix_tickets_office_status", "office_code", "status"),
        # 0701_scale_indexes: the jobs, digest, reports and register at a million tickets
        Index("ix_tickets_received_date", "received_date"),
        Index("ix_tickets_received_at", "received_at"),
        Index("ix_tickets_resolved_at", "resolved_at"),
        Index("ix_tickets_status_answer_due", "status", "answer_due"),
        Index("ix_tickets_status_accept_due", "status", "accept_due"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    pin_hash: str = Field(max_length=128)
    type: str = Field(max_length=16)
    category: str = Field(max_length=16, index=True)
    hamlet: str = ""
    office_code: str = Field(foreign_key="offices.code", max_length=8)
    status: str = Field(max_length=16)
    description: str = Field(sa_column=Column(Text, nullable=False))
    channel: str = Field(max_length=16)
    source: str = Field(default="electronic", max_length=16)
    citizen_id: Optional[int] = Field(default=None, foreign_key="citizens.id", index=True)
    anonymous: bool = False
    contact_name: str = Field(default="", sa_column=Column(SealedText(), nullable=False))
    contact_phone: str = Field(default="", sa_column=Column(SealedText(), nullable=False))
    # the sender's own address (required for khiếu nại and tố cáo), never the incident's hamlet
    contact_address: str = Field(default="", sa_column=Column(SealedText(), nullable=False, server_default=""))
    cosigners: int = 1
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    received_at: datetime
    received_date: date
    answer_due: date
    accept_due: Optional[date] = None
    resolve_due: date
    accepted_at: Optional[datetime] = None
    resolved_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None
    assignee_id: Optional[int] = Field(default=None, foreign_key="officials.id")
    created_at: datetime
    updated_at: datetime


class TicketAttachment(SQLModel, table=True):
    """A photo, voice note or file sent with a ticket."""

    __tablename__ = "ticket_attachments"
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    kind: str = Field(max_length=16)
    ref: str = ""
    mime: str = ""
    size: int = 0
    path: str = ""
    created_at: datetime


class ReporterIdentity(SQLModel, table=True):
    """A tố cáo author's identity, kept apart from the case (Luật Tố cáo arts. 9, 47)."""

    __tablename__ = "reporter_identities"
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", unique=True)
    citizen_id: Optional[int] = Field(default=None, foreign_key="citizens.id")
    name: str = Field(default="", sa_column=Column(SealedText(), nullable=False))
    phone: str = Field(default="", sa_column=Column(SealedText(), nullable=False))
    address: str = Field(default="", sa_column=Column(SealedText(), nullable=False))
    created_at: datetime


class TicketEvent(SQLModel, table=True):
    """Append-only audit of every ticket change: who, when, what."""

    __tablename__ = "ticket_events"
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: Optional[int] = Field(default=None, foreign_key="tickets.id", index=True)
    at: datetime
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    from_status: Optional[str] = None
    to_status: Optional[str] = None
    note: str = Field(default="", sa_column=Column(SealedText(), nullable=False, server_default=""))
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


class DataRequest(SQLModel, table=True):
    """A data-subject request (deletion, access) and how it was answered, for the 2-working-day rule."""

    __tablename__ = "data_requests"
    id: Optional[int] = Field(default=None, primary_key=True)
    citizen_id: Optional[int] = Field(default=None, foreign_key="citizens.id", index=True)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    requested_at: datetime
    due_date: date
    executed_at: Optional[datetime] = None
    note: str = ""


class AuditHead(SQLModel, table=True):
    """The newest link of the audit hash chain (one row), locked while the chain grows."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    last_hash: str = Field(max_length=64)
    last_event_id: Optional[int] = None


class Conversation(SQLModel, table=True):
    """Where a person is in a flow, and their draft; written with every step."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_conversation_channel_user"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    user_id: str = Field(sa_column=Column(SealedId(), nullable=False))
    chat_id: str = Field(sa_column=Column(SealedId(), nullable=False))
    flow: str = Field(default="", max_length=32)
    step: str = Field(default="", max_length=32)
    version: int = 0
    data: str = Field(default="{}", sa_column=Column(SealedText(), nullable=False))
    updated_at: datetime


class OutboxMessage(SQLModel, table=True):
    """A message to send, written in the transaction that caused it; drained by a sender."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),
                      Index("ix_outbox_chat", "channel", "chat_id", "id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(sa_column=Column(SealedId(), nullable=False))
    payload: str = Field(sa_column=Column(SealedText(), nullable=False))
    ticket_code: str = ""
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime
    created_at: datetime
    sent_at: Optional[datetime] = None
    last_error: str = ""
    # The lease of the process sending this row (see notifications/outbox_sender.py). claimed_by
    # stays on a sent row as a record of which process sent it; claimed_until is cleared.
    claimed_by: str = Field(default="", max_length=64)
    claimed_until: Optional[datetime] = None


class ProcessedInbound(SQLModel, table=True):
    """Inbound ids already handled, so a redelivered update does nothing twice."""

    __tablename__ = "processed_inbound"
    channel: str = Field(primary_key=True, max_length=16)
    external_id: str = Field(primary_key=True, max_length=96)
    processed_at: datetime


# --- officials' workflow (issue 3) ------------------------------------------------------------

class OfficialInvite(SQLModel, table=True):
    """A one-time registration code for an official; only its hash is stored."""

    __tablename__ = "official_invites"
    id: Optional[int] = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=128, unique=True)
    office_code: Optional[str] = Field(default=None, foreign_key="offices.code")
    role: str = Field(max_length=16)
    display_name: str = ""
    hamlet: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    created_at: datetime
    expires_at: datetime
    used_at: Optional[datetime] = None
    official_id: Optional[int] = Field(default=None, foreign_key="officials.id")


class OfficeGroup(SQLModel, table=True):
    """A group chat an admin bound to an office with /ganphong (config chats need no row)."""

    __tablename__ = "office_groups"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_office_group_chat"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", max_length=16)
    chat_id: str = Field(max_length=64)
    office_code: str = Field(foreign_key="offices.code", max_length=8)
    registered_by: Optional[int] = Field(default=None, foreign_key="officials.id")
    created_at: datetime


class ActionToken(SQLModel, table=True):
    """What an opaque button payload means: one action on one ticket, valid in one chat only."""

    __tablename__ = "action_tokens"
    __table_args__ = (UniqueConstraint("ticket_id", "action", "chat_key", name="uq_action_token"),)
    token: str = Field(primary_key=True, max_length=24)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    action: str = Field(max_length=32)
    chat_key: str = Field(max_length=96)
    created_at: datetime


class TicketCard(SQLModel, table=True):
    """A ticket card shown in a chat; message_ref is filled by the sender so later edits target it."""

    __tablename__ = "ticket_cards"
    __table_args__ = (UniqueConstraint("ticket_id", "channel", "chat_id", name="uq_ticket_card_chat"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    message_ref: str = ""
    active: bool = True
    created_at: datetime
    updated_at: datetime


class TicketFollower(SQLModel, table=True):
    """A chat that asked for a ticket's updates with /theodoi CODE PIN."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "channel", "chat_id", name="uq_ticket_follower"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(sa_column=Column(SealedId(), nullable=False))
    user_id: str = Field(default="", sa_column=Column(SealedId(), nullable=False))
    created_at: datetime


class SatisfactionSurvey(SQLModel, table=True):
    """One satisfaction question after a resolution; a reopened ticket gets a new round."""

    __tablename__ = "satisfaction_surveys"
    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_survey_ticket_round"),
                      Index("ix_survey_status_asked", "status", "asked_at"))
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    round: int = 1
    status: str = Field(default="pending", max_length=16)   # pending | answered | expired
    asked_at: datetime
    reminded_at: Optional[datetime] = None
    answered_at: Optional[datetime] = None
    rating: Optional[int] = None
    comment: str = Field(default="", sa_column=Column(SealedText(), nullable=False, server_default=""))


# --- web front and open interfaces (issue 6) --------------------------------------------------

class ApiKey(SQLModel, table=True):
    """A key another system uses to POST Open311 requests; only its hash is stored."""

    __tablename__ = "api_keys"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    key_hash: str = Field(max_length=128, unique=True)
    created_at: datetime
    revoked_at: Optional[datetime] = None
    last_used_at: Optional[datetime] = None


class Open311Request(SQLModel, table=True):
    """A ticket created through Open311: which key sent it and the token the client may poll."""

    __tablename__ = "open311_requests"
    id: Optional[int] = Field(default=None, primary_key=True)
    token: str = Field(max_length=48, unique=True)
    ticket_id: int = Field(foreign_key="tickets.id", unique=True)
    api_key_id: int = Field(foreign_key="api_keys.id", index=True)
    created_at: datetime


class ReportDraft(SQLModel, table=True):
    """A periodic report draft sent to the leaders: one per kind and year, so a rerun sends nothing twice."""

    __tablename__ = "report_drafts"
    __table_args__ = (UniqueConstraint("kind", "year", name="uq_report_draft_kind_year"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    year: int
    path: str = ""
    created_at: datetime


class InboundEvent(SQLModel, table=True):
    """A raw webhook event stored before it is answered, then processed from here (Zalo)."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("channel", "dedupe_key", name="uq_inbound_event_key"),
                      Index("ix_inbound_events_status", "status", "id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    dedupe_key: str = Field(sa_column=Column(SealedId(256), nullable=False))   # may hold a sender id
    event_name: str = Field(default="", max_length=48)
    payload: str = Field(sa_column=Column(SealedText(), nullable=False))
    status: str = Field(default="pending", max_length=16)    # pending | done | ignored | failed
    attempts: int = 0
    received_at: datetime
    processed_at: Optional[datetime] = None
    last_error: str = ""


class ZaloToken(SQLModel, table=True):
    """The OA's OAuth v4 token pair; the refresh token works once, so this row is the only copy."""

    __tablename__ = "zalo_tokens"
    key: str = Field(primary_key=True, max_length=16)
    access_token: str = Field(default="", sa_column=Column(SealedText(), nullable=False, server_default=""))
    refresh_token: str = Field(default="", sa_column=Column(SealedText(), nullable=False, server_default=""))
    access_expires_at: Optional[datetime] = None
    refresh_expires_at: Optional[datetime] = None
    generation: int = 0
    lease_owner: str = Field(default="", max_length=64)
    lease_until: Optional[datetime] = None
    pkce_verifier: str = Field(default="", max_length=128)
    pkce_state: str = Field(default="", max_length=64)
    alerted_at: Optional[datetime] = None
    last_error: str = ""
    updated_at: datetime


# --- deadlines at work (issue 4) --------------------------------------------------------------

class SentReminder(SQLModel, table=True):
    """One scheduled message already written to the outbox (unique per kind, subject and period),
    so a restart neither skips nor repeats it."""

    __tablename__ = "sent_reminders"
    __table_args__ = (UniqueConstraint("kind", "ref", "period", name="uq_sent_reminder"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    ref: str = Field(max_length=64)              # a ticket id, an office code, "leaders"...
    period: str = Field(max_length=32)           # a due date, a local date or an ISO week
    ticket_id: Optional[int] = Field(default=None, foreign_key="tickets.id", index=True)
    recipients: int = 0
    created_at: datetime


class TicketLink(SQLModel, table=True):
    """A later ticket found to be a near-duplicate of an earlier open one: handled as one case."""

    __tablename__ = "ticket_links"
    __table_args__ = (UniqueConstraint("ticket_id", "linked_to_id", name="uq_ticket_link"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    linked_to_id: int = Field(foreign_key="tickets.id", index=True)
    kind: str = Field(default="near_duplicate", max_length=16)
    score: float = 0.0
    created_at: datetime


class NoticeSubscription(SQLModel, table=True):
    """A citizen's choice about the commune's announcements (asked once, changeable any time)."""

    __tablename__ = "notice_subscriptions"
    id: Optional[int] = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizens.id", unique=True)
    subscribed: bool = False
    asked_at: Optional[datetime] = None
    changed_at: datetime


class Announcement(SQLModel, table=True):
    """A leader's notice to opted-in citizens: drafted, previewed, then confirmed and fanned out."""

    __tablename__ = "announcements"
    id: Optional[int] = Field(default=None, primary_key=True)
    author: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    photo_ref: str = ""
    status: str = Field(default="draft", max_length=16)      # draft | sent | cancelled
    sent_count: int = 0
    unreachable_count: int = 0
    created_at: datetime
    sent_at: Optional[datetime] = None


class CategoryCorrection(SQLModel, table=True):
    """An official's category correction kept as a labelled example, without personal data:
    the description with phone numbers, e-mails, long numbers and names after an honorific
    replaced; no ticket id, only a one-way reference so a ticket corrected twice counts once."""

    __tablename__ = "category_corrections"
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_ref: str = Field(max_length=24, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    from_category: str = Field(max_length=32)
    to_category: str = Field(max_length=32)
    source: str = Field(default="transfer", max_length=16)       # transfer | category_change
    created_at: datetime


class ClassifierModel(SQLModel, table=True):
    """A retrained classifier and its scores; the active one is what the bot classifies with.
    A model is reproduced from the shipped set plus corrections with id <= corrections_upto."""

    __tablename__ = "classifier_models"
    id: Optional[int] = Field(default=None, primary_key=True)
    version: str = Field(max_length=24)
    corrections_upto: int = 0
    examples: int = 0
    heldout_top1: float = 0.0
    heldout_top3: float = 0.0
    recent_top1: float = 0.0
    recent_count: int = 0
    active: bool = False
    decision: str = Field(default="", max_length=16)              # switched | kept | initial
    created_at: datetime


class SecretAttempt(SQLModel, table=True):
    """Wrong tries at a secret (PIN, one-time code, sign-in link) for one key: a subject (ticket code,
    account) or a client (address, chat). `key` is a hash, so no address is kept in clear."""

    __tablename__ = "secret_attempts"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_secret_attempt_scope_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    scope: str = Field(max_length=32)
    key: str = Field(max_length=64)
    failures: int = 0
    window_start: datetime
    lockouts: int = 0                        # how many times locked: the next lockout doubles
    locked_until: Optional[datetime] = None
    updated_at: datetime


class DoorCounter(SQLModel, table=True):
    """How many messages, uploads or petitions one key (a hashed address or session) sent in one
    window (bucket = the window's start, epoch seconds)."""

    __tablename__ = "door_counters"
    __table_args__ = (UniqueConstraint("scope", "key", "bucket", name="uq_door_counter"),
                      Index("ix_door_counters_bucket", "bucket"))
    id: Optional[int] = Field(default=None, primary_key=True)
    scope: str = Field(max_length=32)
    key: str = Field(max_length=64)
    bucket: int = Field(sa_column=Column(BigInteger, nullable=False))
    count: int = 0


# --- the back office on the web (issue 13) ----------------------------------------------------

class WebLoginLink(SQLModel, table=True):
    """A one-time sign-in link sent to an official's chat; only the token's hash is stored."""

    __tablename__ = "web_login_links"
    token_hash: str = Field(primary_key=True, max_length=64)
    official_id: int = Field(foreign_key="officials.id", index=True)
    created_at: datetime
    expires_at: datetime
    used_at: Optional[datetime] = None


class WebSession(SQLModel, table=True):
    """A signed-in back-office browser; the cookie holds the id, the table only its hash."""

    __tablename__ = "web_sessions"
    id_hash: str = Field(primary_key=True, max_length=64)
    official_id: int = Field(foreign_key="officials.id", index=True)
    created_at: datetime
    last_seen_at: datetime
    ended_at: Optional[datetime] = None
