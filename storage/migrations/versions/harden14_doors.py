"""doors: the attempt limiter for secrets and per-address counters of the public doors

Revision ID: harden14_doors
Revises: 0009_merge_stress
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "harden14_doors"
down_revision = "0009_merge_stress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("scope", "key", name="uq_secret_attempt_scope_key"),
    )
    op.create_table(
        "door_counters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("scope", "key", "bucket", name="uq_door_counter"),
    )
    op.create_index("ix_door_counters_bucket", "door_counters", ["bucket"])


def downgrade() -> None:
    op.drop_index("ix_door_counters_bucket", table_name="door_counters")
    op.drop_table("door_counters")
    op.drop_table("secret_attempts")
