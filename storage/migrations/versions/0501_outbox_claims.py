"""outbox claims: a lease (claimed_by, claimed_until) so several processes can drain one outbox

Revision ID: 0501_outbox_claims
Revises: 0008_merge_deadlines
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = "0501_outbox_claims"
down_revision = "0008_merge_deadlines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
