"""merge the officials' branch; seal followers' chat ids and survey comments

Revision ID: 0005_merge_officials
Revises: 0004_seal_personal_data, 0101_officials
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

from storage.crypto import open_id, open_text, rewrite_column, seal_id, seal_text

revision = "0005_merge_officials"
down_revision = ("0004_seal_personal_data", "0101_officials")
branch_labels = None
depends_on = None

ID_COLUMNS = [("ticket_followers", "chat_id"), ("ticket_followers", "user_id")]
TEXT_COLUMNS = [("satisfaction_surveys", "comment")]


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
