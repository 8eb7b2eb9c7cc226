"""officials' workflow: invites, office groups, action tokens, cards, followers, surveys

Revision ID: 0101_officials
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = '0101_officials'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('official_invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=128), nullable=False),
    sa.Column('office_code', sa.String(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('official_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['office_code'], ['offices.code']),
    sa.ForeignKeyConstraint(['official_id'], ['officials.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    op.create_table('office_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('office_code', sa.String(length=8), nullable=False),
    sa.Column('registered_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['office_code'], ['offices.code']),
    sa.ForeignKeyConstraint(['registered_by'], ['officials.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'chat_id', name='uq_office_group_chat')
    )
    op.create_table('action_tokens',
    sa.Column('token', sa.String(length=24), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('chat_key', sa.String(length=96), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
    sa.PrimaryKeyConstraint('token'),
    sa.UniqueConstraint('ticket_id', 'action', 'chat_key', name='uq_action_token')
    )
    op.create_index('ix_action_tokens_ticket_id', 'action_tokens', ['ticket_id'])
    op.create_table('ticket_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('message_ref', sa.String(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'channel', 'chat_id', name='uq_ticket_card_chat')
    )
    op.create_index('ix_ticket_cards_ticket_id', 'ticket_cards', ['ticket_id'])
    op.create_table('ticket_followers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'channel', 'chat_id', name='uq_ticket_follower')
    )
    op.create_index('ix_ticket_followers_ticket_id', 'ticket_followers', ['ticket_id'])
    op.create_table('satisfaction_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'round', name='uq_survey_ticket_round')
    )
    op.create_index('ix_satisfaction_surveys_ticket_id', 'satisfaction_surveys', ['ticket_id'])
    op.create_index('ix_survey_status_asked', 'satisfaction_surveys', ['status', 'asked_at'])


def downgrade() -> None:
    op.drop_index('ix_survey_status_asked', table_name='satisfaction_surveys')
    op.drop_index('ix_satisfaction_surveys_ticket_id', table_name='satisfaction_surveys')
    op.drop_table('satisfaction_surveys')
    op.drop_index('ix_ticket_followers_ticket_id', table_name='ticket_followers')
    op.drop_table('ticket_followers')
    op.drop_index('ix_ticket_cards_ticket_id', table_name='ticket_cards')
    op.drop_table('ticket_cards')
    op.drop_index('ix_action_tokens_ticket_id', table_name='action_tokens')
    op.drop_table('action_tokens')
    op.drop_table('office_groups')
    op.drop_table('official_invites')
