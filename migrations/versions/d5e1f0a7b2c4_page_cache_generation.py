"""page cache generation

Revision ID: d5e1f0a7b2c4
Revises: c43669d81ea3
Create Date: 2026-11-30 01:31:40.862480

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5e1f0a7b2c4'
down_revision = 'c43669d81ea3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('page_cache_generation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_cache_generation'))
    )


def downgrade():
    op.drop_table('page_cache_generation')
