"""sending: retry schedule and claim holder on outbox rows, approval expiry on drafts

Revision ID: 0004_send_retry
Revises: 0001
Create Date: 2026-11-27 10:00:00

Drafts already pending when this runs get the default 72 hours counted from the upgrade,
not from their creation, so an upgrade never expires a whole queue at once.
"""

from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
import samdesk.models


revision = '0004_send_retry'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', samdesk.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', samdesk.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', samdesk.models.UTCDateTime(timezone=True), nullable=True))
    drafts = sa.table(
        'drafts',
        sa.column('status', sa.String()),
        sa.column('expires_at', samdesk.models.UTCDateTime(timezone=True)),
    )
    op.execute(
        drafts.update()
        .where(drafts.c.status == 'pending')
        .values(expires_at=datetime.now(UTC) + timedelta(hours=72))
    )


def downgrade() -> None:
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('next_attempt_at')
