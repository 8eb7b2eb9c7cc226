"""Limits of the public doors (web chat, /tra-cuu, Open311, uploads): how many guesses, messages,
files and petitions one person or one address may send, how long a web session lives, and the
public base URL and /metrics token. Loaded as the `doors:` section of config.yaml.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DoorSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # One attempt limiter for every secret (PIN, one-time code, sign-in link): bot/core/attempts.py.
    secret_failures: int = Field(default=5, ge=1)             # wrong tries on one subject (ticket code, account)
    secret_failures_per_client: int = Field(default=10, ge=1)  # wrong tries from one address or chat, any subject
    secret_window_minutes: int = Field(default=60, ge=1)
    secret_lockout_minutes: int = Field(default=15, ge=1)      # the first lockout; each next one doubles
    secret_lockout_max_hours: int = Field(default=24, ge=1)
    # Web sessions: 24 h lets a citizen finish a petition over one day and read the bot's same-day
    # questions, while the next visitor of a shared computer (reception desk, internet café) finds
    # nothing; later follow-up is by code + PIN (/tra-cuu) or Telegram/Zalo.
    session_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Uploads: a file not attached to a submitted petition is deleted after this many hours.
    orphan_upload_hours: int = Field(default=24, ge=1)
    uploads_per_session_per_day: int = Field(default=20, ge=1)
    uploads_per_address_per_hour: int = Field(default=30, ge=1)
    uploads_per_address_per_day: int = Field(default=100, ge=1)
    storage_ceiling_bytes: int = Field(default=5 * 1024 ** 3, gt=0)   # uploads refused (admins alerted) beyond
    # Per-address throttles on the web chat (one address may be a whole village behind one NAT).
    messages_per_address_per_hour: int = Field(default=600, ge=1)
    messages_per_address_per_day: int = Field(default=3000, ge=1)
    petitions_per_address_per_hour: int = Field(default=10, ge=1)
    petitions_per_address_per_day: int = Field(default=30, ge=1)
    # Where the public reaches us (Open311 discovery); never taken from the request's Host header.
    public_base_url: str = "http://127.0.0.1:8080"
    # /metrics answers only with "Authorization: Bearer <token>" (DANVAN_METRICS_TOKEN); "" = not served.
    metrics_token: str = ""
