"""back office on the web: one-time sign-in links and server-side sessions

Revision ID: web13_backoffice
Revises: harden14_doors
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = 'web13_backoffice'
down_revision = 'harden14_doors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_login_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('official_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['official_id'], ['officials.id']),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_web_login_links_official_id', 'web_login_links', ['official_id'])
    op.create_table('web_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('official_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['official_id'], ['officials.id']),
    sa.PrimaryKeyConstraint('id_hash')
    )
    op.create_index('ix_web_sessions_official_id', 'web_sessions', ['official_id'])


def downgrade() -> None:
    op.drop_index('ix_web_sessions_official_id', table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_index('ix_web_login_links_official_id', table_name='web_login_links')
    op.drop_table('web_login_links')
