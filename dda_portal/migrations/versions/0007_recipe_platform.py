"""recipe_platform: each component version's recipe platforms, each core device's IoT thing attributes.

Revision ID: 0007_recipe_platform
Revises: 0006_alert
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_recipe_platform'
down_revision = '0006_alert'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('component_version', sa.Column('platforms', sa.String()))
    op.add_column('core_device', sa.Column('thing_attributes', sa.String()))
    op.add_column('core_device', sa.Column('thing_read_for', sa.DateTime()))


def downgrade() -> None:
    with op.batch_alter_table('core_device') as batch:
        batch.drop_column('thing_read_for')
        batch.drop_column('thing_attributes')
    with op.batch_alter_table('component_version') as batch:
        batch.drop_column('platforms')
