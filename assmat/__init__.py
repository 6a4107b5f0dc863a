"""assmat: one deployment serving the childminders' portals of many French tenants.

The package is not called `platform`: that name shadows the standard library module
(`import uuid` and `import sqlalchemy` break when a `platform/` package is importable).
"""
