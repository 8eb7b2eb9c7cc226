"""merge the web branch

Revision ID: 0006_merge_web
Revises: 0005_merge_officials, 0401_web
Create Date: 2026-11-26
"""

revision = "0006_merge_web"
down_revision = ("0005_merge_officials", "0401_web")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
