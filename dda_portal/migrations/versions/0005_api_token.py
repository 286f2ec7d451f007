"""api_token: the tokens the JSON API is read with, by name, stored as the SHA-256 of the token.

Revision ID: 0005_api_token
Revises: 0004_sign_in
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_api_token'
down_revision = '0004_sign_in'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_token',
        sa.Column('name', sa.String(), primary_key=True),
        sa.Column('role', sa.String(), nullable=False),
        sa.Column('token_hash', sa.String(), nullable=False, unique=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('api_token')
