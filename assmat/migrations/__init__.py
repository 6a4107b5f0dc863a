"""Alembic's scripts: env.py and the revisions under versions/ (a revision never imports live code)."""
