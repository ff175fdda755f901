"""desk generation: the change counter the desk's caches compare (samdesk/generation.py)

Revision ID: 0006_desk_generation
Revises: 0001
Create Date: 2026-11-26 22:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006_desk_generation'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'desk_generation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(table, [{'id': 1, 'value': 0}])


def downgrade() -> None:
    op.drop_table('desk_generation')
