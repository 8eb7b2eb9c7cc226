"""case files: the sender's own address (sealed), the hamlet of a mediation team leader

Revision ID: 0901_cases15
Revises: lang16_classifier
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from storage.crypto import SealedText

revision = "0901_cases15"
down_revision = "lang16_classifier"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("contact_address", SealedText(), nullable=False, server_default=""))
    with op.batch_alter_table("officials") as batch_op:
        batch_op.add_column(sa.Column("hamlet", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("official_invites") as batch_op:
        batch_op.add_column(sa.Column("hamlet", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL): a batch copy of `tickets` or
    # `officials` would drop a table other tables' foreign keys point at.
    op.drop_column("official_invites", "hamlet")
    op.drop_column("officials", "hamlet")
    op.drop_column("tickets", "contact_address")
