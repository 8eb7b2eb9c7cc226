"""seal personal data at rest

Revision ID: 0004_seal_personal_data
Revises: 0003_data_requests
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

from storage.crypto import open_id, open_text, rewrite_column, seal_id, seal_text

revision = "0004_seal_personal_data"
down_revision = "0003_data_requests"
branch_labels = None
depends_on = None

ID_COLUMNS = [("channel_identities", "user_id"), ("channel_identities", "chat_id"), ("conversations", "user_id"),
              ("conversations", "chat_id"), ("outbox", "chat_id")]
TEXT_COLUMNS = [("citizens", "name"), ("citizens", "phone"), ("tickets", "contact_name"), ("tickets", "contact_phone"),
                ("reporter_identities", "name"), ("reporter_identities", "phone"), ("reporter_identities", "address"),
                ("ticket_events", "note"), ("conversations", "data"), ("outbox", "payload")]


def _rewrite(columns, transform) -> None:
    for table, column in columns:
        rewrite_column(op.get_bind(), table, column, transform)


def upgrade() -> None:
    for table, column in ID_COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, type_=sa.String(length=96), existing_nullable=False)
    _rewrite(ID_COLUMNS, lambda v: v if v.startswith("s1:") else seal_id(v))
    _rewrite(TEXT_COLUMNS, lambda v: v if v.startswith("g1:") else seal_text(v))


def downgrade() -> None:
    _rewrite(ID_COLUMNS, open_id)
    _rewrite(TEXT_COLUMNS, open_text)
    for table, column in ID_COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, type_=sa.String(length=64), existing_nullable=False)
