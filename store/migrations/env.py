"""Alembic environment: runs on the engine handed over by store.db.migrate (or alembic.ini's URL)."""
from alembic import context
from sqlalchemy import create_engine

from store.schema import metadata

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
