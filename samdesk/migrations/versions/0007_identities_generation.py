"""identities generation: a second desk counter, moved only by users, sessions and tokens

The desk caches who a credential belongs to; keyed on the desk's own counter, every approval
threw those answers away (samdesk/generation.py).

Revision ID: 0007_identities_generation
Revises: 0006_desk_generation
Create Date: 2026-11-27 04:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007_identities_generation'
down_revision = '0006_desk_generation'
branch_labels = None
depends_on = None

desk_generation = sa.table(
    'desk_generation', sa.column('id', sa.Integer()), sa.column('value', sa.BigInteger())
)


def upgrade() -> None:
    op.bulk_insert(desk_generation, [{'id': 2, 'value': 0}])


def downgrade() -> None:
    op.execute(desk_generation.delete().where(desk_generation.c.id == 2))
