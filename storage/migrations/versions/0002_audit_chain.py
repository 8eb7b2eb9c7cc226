"""audit hash chain

Revision ID: 0002_audit_chain
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_audit_chain"
down_revision = "0001"
branch_labels = None
depends_on = None
GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("ticket_events") as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=False, server_default=""))
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "last_hash": GENESIS, "last_event_id": None}])
    # Events written before the chain existed are chained now, in id order.
    import hashlib
    import json
    from datetime import timezone

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, ticket_id, at, actor, action, from_status, to_status, note "
                                "FROM ticket_events ORDER BY id")).fetchall()
    prev, last = GENESIS, None
    for row in rows:
        at = row.at
        if isinstance(at, str):
            from datetime import datetime
            at = datetime.fromisoformat(at)
        if at.tzinfo is not None:
            at = at.astimezone(timezone.utc).replace(tzinfo=None)
        content = json.dumps([prev, row.ticket_id, at.isoformat(timespec="microseconds"), row.actor, row.action,
                              row.from_status, row.to_status, row.note or ""], ensure_ascii=False,
                             separators=(",", ":"))
        digest = hashlib.sha256(content.encode()).hexdigest()
        conn.execute(sa.text("UPDATE ticket_events SET prev_hash = :p, hash = :h WHERE id = :i"),
                     {"p": prev, "h": digest, "i": row.id})
        prev, last = digest, row.id
    conn.execute(sa.text("UPDATE audit_head SET last_hash = :h, last_event_id = :i WHERE id = 1"),
                 {"h": prev, "i": last})


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("ticket_events") as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
