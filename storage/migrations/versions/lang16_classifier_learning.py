"""classifier learning: officials' category corrections and retrained model versions

Revision ID: lang16_classifier
Revises: web13_backoffice
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = "lang16_classifier"
down_revision = "web13_backoffice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_corrections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_ref", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("from_category", sa.String(length=32), nullable=False),
        sa.Column("to_category", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_category_corrections_ticket_ref", "category_corrections", ["ticket_ref"])
    op.create_table(
        "classifier_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.String(length=24), nullable=False),
        sa.Column("corrections_upto", sa.Integer(), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("heldout_top1", sa.Float(), nullable=False),
        sa.Column("heldout_top3", sa.Float(), nullable=False),
        sa.Column("recent_top1", sa.Float(), nullable=False),
        sa.Column("recent_count", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("classifier_models")
    op.drop_index("ix_category_corrections_ticket_ref", table_name="category_corrections")
    op.drop_table("category_corrections")
