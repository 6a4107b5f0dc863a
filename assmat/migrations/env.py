from alembic import context
from sqlalchemy import create_engine, pool

import assmat.app  # noqa: F401 - the composition root imports every feature's tables
from assmat.core.db.base import Base

config = context.config


def run_migrations() -> None:
    url = config.attributes["url"]
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.get_backend_name() == "sqlite",  # SQLite alters tables by copy
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
