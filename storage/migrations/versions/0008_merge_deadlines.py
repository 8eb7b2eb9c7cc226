"""merge the deadlines branch

Revision ID: 0008_merge_deadlines
Revises: 0007_merge_zalo, 0201_deadlines
Create Date: 2026-11-26
"""

revision = "0008_merge_deadlines"
down_revision = ("0007_merge_zalo", "0201_deadlines")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
