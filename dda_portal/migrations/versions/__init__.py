"""Alembic revisions of the store's schema, oldest first; each one a file, never edited once released."""
