"""merge the Zalo branch; seal raw Zalo events and OA tokens

Revision ID: 0007_merge_zalo
Revises: 0006_merge_web, 0301_zalo
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

from storage.crypto import open_id, open_text, rewrite_column, seal_id, seal_text

revision = "0007_merge_zalo"
down_revision = ("0006_merge_web", "0301_zalo")
branch_labels = None
depends_on = None

TEXT_COLUMNS = [("inbound_events", "payload", "id"), ("zalo_tokens", "access_token", "key"),
                ("zalo_tokens", "refresh_token", "key")]


def _rewrite(table: str, column: str, key: str, transform) -> None:
    rewrite_column(op.get_bind(), table, column, transform, key=key)


def upgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch_op:
        batch_op.alter_column("dedupe_key", type_=sa.String(length=256), existing_nullable=False)
    _rewrite("inbound_events", "dedupe_key", "id", lambda v: v if v.startswith("s1:") else seal_id(v))
    for table, column, key in TEXT_COLUMNS:
        _rewrite(table, column, key, lambda v: v if v.startswith("g1:") else seal_text(v))


def downgrade() -> None:
    _rewrite("inbound_events", "dedupe_key", "id", open_id)
    for table, column, key in TEXT_COLUMNS:
        _rewrite(table, column, key, open_text)
    with op.batch_alter_table("inbound_events") as batch_op:
        batch_op.alter_column("dedupe_key", type_=sa.String(length=160), existing_nullable=False)
