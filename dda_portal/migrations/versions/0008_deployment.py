"""deployment, effective_deployment, thing_group_member: Greengrass deployments, each core device's
execution of them, and the IoT thing groups deployments target.

Revision ID: 0008_deployment
Revises: 0007_recipe_platform
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_deployment'
down_revision = '0007_recipe_platform'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'deployment',
        sa.Column('deployment_id', sa.String(), primary_key=True),
        sa.Column('target_arn', sa.String(), nullable=False),
        sa.Column('revision_id', sa.String(), nullable=False),
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('status', sa.String(), nullable=False),
        sa.Column('is_latest', sa.Boolean(), nullable=False),
        sa.Column('components', sa.String(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=True),
        sa.Column('origin', sa.String(), nullable=False),
        sa.Column('created_by', sa.String(), nullable=True),
        sa.Column('settled', sa.Boolean(), nullable=False),
    )
    op.create_index('ix_deployment_target_arn', 'deployment', ['target_arn'])
    op.create_table(
        'effective_deployment',
        sa.Column('thing_name', sa.String(), primary_key=True),
        sa.Column('deployment_id', sa.String(), primary_key=True),
        sa.Column('target_arn', sa.String(), nullable=False),
        sa.Column('status', sa.String(), nullable=False),
        sa.Column('reason', sa.String(), nullable=True),
        sa.Column('error_types', sa.String(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
    )
    op.create_table(
        'thing_group_member',
        sa.Column('group_name', sa.String(), primary_key=True),
        sa.Column('thing_name', sa.String(), primary_key=True),
        sa.Column('group_arn', sa.String(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('thing_group_member')
    op.drop_table('effective_deployment')
    op.drop_index('ix_deployment_target_arn', table_name='deployment')
    op.drop_table('deployment')
