"""merge the outbox-claims and scale-indexes branches

Revision ID: 0009_merge_stress
Revises: 0501_outbox_claims, 0701_scale_indexes
Create Date: 2026-11-26
"""

revision = "0009_merge_stress"
down_revision = ("0501_outbox_claims", "0701_scale_indexes")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
