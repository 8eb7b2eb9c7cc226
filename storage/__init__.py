"""Persistence: tables, queries, migrations, engine setup."""

from storage import audit as _audit  # noqa: F401  (installs the audit hash chain on every session)
