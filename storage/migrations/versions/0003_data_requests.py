"""data-subject requests

Revision ID: 0003_data_requests
Revises: 0002_audit_chain
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_data_requests"
down_revision = "0002_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_data_requests_citizen_id", "data_requests", ["citizen_id"])


def downgrade() -> None:
    op.drop_index("ix_data_requests_citizen_id", table_name="data_requests")
    op.drop_table("data_requests")
