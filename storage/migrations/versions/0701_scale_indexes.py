"""scale: indexes for the scheduled jobs, digest, reports and register at a million tickets

Revision ID: 0701_scale_indexes
Revises: 0008_merge_deadlines
Create Date: 2026-11-26
"""
from alembic import op


revision = '0701_scale_indexes'
down_revision = '0008_merge_deadlines'
branch_labels = None
depends_on = None

INDEXES = (
    # weekly counts, reports and the register select by the local day received
    ("ix_tickets_received_date", "tickets", ["received_date"]),
    # hot spots: tickets received within the window
    ("ix_tickets_received_at", "tickets", ["received_at"]),
    # the digest: tickets resolved within the week
    ("ix_tickets_resolved_at", "tickets", ["resolved_at"]),
    # reminders: open tickets whose answer / acceptance falls due soon (resolve: ix_tickets_status_resolve_due)
    ("ix_tickets_status_answer_due", "tickets", ["status", "answer_due"]),
    ("ix_tickets_status_accept_due", "tickets", ["status", "accept_due"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
