"""Shared fixtures: a migrated store on SQLite always, and on PostgreSQL when IOC_TEST_DATABASE_URL is set.

Each PostgreSQL test gets its own schema, so parallel runs against one database never collide.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from store.db import create_store_engine, migrate

POSTGRES_URL = os.environ.get("IOC_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
if os.environ.get("IOC_TEST_REQUIRE_POSTGRES") and not POSTGRES_URL:
    raise RuntimeError("IOC_TEST_REQUIRE_POSTGRES is set but IOC_TEST_DATABASE_URL is not: CI must test PostgreSQL")


def make_engine(backend: str, tmp_path):
    """A freshly migrated, empty store on the given backend; returns (engine, cleanup)."""
    if backend == "sqlite":
        engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
        migrate(engine)
        return engine, engine.dispose
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_store_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_store_engine(POSTGRES_URL, schema=schema)
    migrate(engine)

    def cleanup() -> None:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return engine, cleanup


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    """A migrated empty store; the test runs once per configured backend."""
    store, cleanup = make_engine(request.param, tmp_path)
    yield store
    cleanup()
