"""desk indexes: the queue's rank columns on drafts, filled for existing drafts, and indexes

Revision ID: 0005_desk_indexes
Revises: 0001
Create Date: 2026-11-26 19:00:00

The queue used to rank every open draft in Python on each page view; it now reads them in
rank order from ``ix_drafts_rank`` (approval_ui/ranking.py). Existing drafts get their
``rank_*`` columns here, computed as approval_ui/priority.py does.
"""

from alembic import op
import sqlalchemy as sa
import samdesk.models


revision = '0005_desk_indexes'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rank_kind', sa.String(length=10), server_default='none', nullable=False))
        batch_op.add_column(sa.Column('rank_at', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('rank_key', sa.Double(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('rank_label', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('rank_signal_id', sa.String(length=128), nullable=True))
    _backfill()
    op.create_index('ix_drafts_rank', 'drafts', ['status', 'account_id', 'rank_kind', 'rank_key', 'created_at', 'id', 'rank_at', 'rank_label'])
    op.create_index('ix_drafts_rank_at', 'drafts', ['status', 'account_id', 'rank_kind', 'rank_at'])
    op.create_index('ix_drafts_status_updated', 'drafts', ['status', 'updated_at', 'id'])
    op.create_index('ix_drafts_rank_signal_id', 'drafts', ['rank_signal_id'])


def _backfill() -> None:
    from approval_ui import priority  # the one definition of what a draft ranks by

    bind = op.get_bind()
    signals = sa.table(
        'signals',
        sa.column('id', sa.String()),
        sa.column('type', sa.String()),
        sa.column('published_at', samdesk.models.UTCDateTime(timezone=True)),
    )
    drafts = sa.table(
        'drafts',
        sa.column('id', sa.Integer()),
        sa.column('kind', sa.String()),
        sa.column('trigger', sa.JSON()),
        sa.column('sources', sa.JSON()),
        sa.column('rank_kind', sa.String()),
        sa.column('rank_at', sa.Double()),
        sa.column('rank_key', sa.Double()),
        sa.column('rank_label', sa.String()),
        sa.column('rank_signal_id', sa.String()),
    )
    facts = {row.id: (row.type, row.published_at) for row in bind.execute(sa.select(signals))}
    rows = bind.execute(sa.select(drafts.c.id, drafts.c.kind, drafts.c.trigger, drafts.c.sources))
    updates = []
    for row in rows:
        trigger = row.trigger or {}
        signal_id = priority.signal_of(row.kind, trigger)
        fact = None
        if signal_id:
            fact = facts.get(signal_id) or priority.from_sources(row.sources or [], signal_id)
        stored = priority.inputs(row.kind, trigger, fact)
        updates.append(
            {
                'draft_id': row.id,
                'kind': stored.kind,
                'at': stored.at,
                'key': stored.key,
                'label': stored.label[:40],
                'signal_id': signal_id,
            }
        )
    if updates:
        bind.execute(
            drafts.update()
            .where(drafts.c.id == sa.bindparam('draft_id'))
            .values(
                rank_kind=sa.bindparam('kind'),
                rank_at=sa.bindparam('at'),
                rank_key=sa.bindparam('key'),
                rank_label=sa.bindparam('label'),
                rank_signal_id=sa.bindparam('signal_id'),
            ),
            updates,
        )


def downgrade() -> None:
    op.drop_index('ix_drafts_rank_signal_id', table_name='drafts')
    op.drop_index('ix_drafts_status_updated', table_name='drafts')
    op.drop_index('ix_drafts_rank_at', table_name='drafts')
    op.drop_index('ix_drafts_rank', table_name='drafts')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_column('rank_signal_id')
        batch_op.drop_column('rank_label')
        batch_op.drop_column('rank_key')
        batch_op.drop_column('rank_at')
        batch_op.drop_column('rank_kind')
