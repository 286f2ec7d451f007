"""Alembic environment: the store hands in its open connection, already inside the one upgrade transaction."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get('connection')
if connection is None:
    raise RuntimeError('The store upgrades its database itself (dda_portal.migrations.upgrade).')

context.configure(
    connection=connection,
    target_metadata=None,
    transaction_per_migration=False,
    render_as_batch=True,  # ALTERs on SQLite copy the table (op.batch_alter_table)
)
with context.begin_transaction():  # the caller's transaction: every revision commits together or not at all
    context.run_migrations()
