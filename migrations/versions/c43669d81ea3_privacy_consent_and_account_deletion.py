"""privacy consent and account deletion

Revision ID: c43669d81ea3
Revises: b1c07d4a60e9
Create Date: 2026-11-30 01:31:40.862480

"""
from alembic import op
import sqlalchemy as sa
import marketplace.core.models


# revision identifiers, used by Alembic.
revision = 'c43669d81ea3'
down_revision = 'b1c07d4a60e9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_consent_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('privacy_consent_at')
