"""A read-only, parameterised query against a provincial TTHC database (any SQLAlchemy URL).

The query returns rows at the daily grain; `field_map` renames its columns to the canonical ones.
It receives :first_day, :last_day and the expanding list :unit_codes as bound parameters, never
formatted into the text. Only SELECT/WITH statements are accepted, and the transaction is opened
read-only where the database supports it.
"""
from __future__ import annotations

import re
from typing import Mapping

import pandas as pd
from sqlalchemy import bindparam, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from collectors.base import Batch, FatalError, FetchRequest, RetriableError
from collectors.validation import RAW_COLUMN
from config.facts import FACT_COLUMNS

READ_ONLY_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


class SqlSource:
    """Daily facts from a SQL query; `fetch` runs it, `parse` renames and tags the rows."""

    def __init__(self, name: str, url: str, query: str, field_map: Mapping[str, str] | None = None,
                 timeout_s: float = 30.0, engine: Engine | None = None):
        if not READ_ONLY_START.match(query) or ";" in query.strip().rstrip(";"):
            raise FatalError(f"{name}: the query must be one SELECT (or WITH ... SELECT) statement")
        self.name, self.query, self.timeout_s = name, query, timeout_s
        self.field_map = dict(field_map or {})
        self.engine = engine or _read_only_engine(url, timeout_s)
        self.statement = text(query)
        if ":unit_codes" in query:
            self.statement = self.statement.bindparams(bindparam("unit_codes", expanding=True))

    def __repr__(self) -> str:
        return f"SqlSource(name={self.name!r}, url={self.engine.url!r})"  # URL repr hides the password

    def fetch(self, request: FetchRequest) -> pd.DataFrame:
        """Run the query for the request's units and days."""
        params = {"first_day": request.first_day, "last_day": request.last_day, "unit_codes": list(request.unit_codes)}
        params = {k: v for k, v in params.items() if f":{k}" in self.query}
        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(self.timeout_s * 1000)}")
                return pd.DataFrame(connection.execute(self.statement, params).mappings().all())
        except OperationalError as err:
            raise RetriableError(f"{self.name}: database unavailable: {err.orig}") from err
        except (DBAPIError, SQLAlchemyError) as err:
            raise FatalError(f"{self.name}: the query failed ({getattr(err, 'orig', err)}); check it") from err

    def parse(self, payload: pd.DataFrame, request: FetchRequest) -> Batch:
        """Rows -> canonical fact rows (renamed by field_map), raw row kept for quarantine."""
        if payload.empty:
            return Batch(pd.DataFrame(columns=list(FACT_COLUMNS)))
        frame = payload.rename(columns=self.field_map)
        missing = [c for c in self.field_map if c not in payload.columns]
        if missing:
            raise FatalError(f"{self.name}: field_map names columns the query does not return: {missing}; "
                             f"it returns {list(payload.columns)}")
        frame["source"] = self.name
        raw = payload.astype(object).where(payload.notna(), None).to_dict("records")
        frame = frame.reindex(columns=list(FACT_COLUMNS))
        frame[RAW_COLUMN] = pd.Series(raw, dtype=object, index=frame.index)
        return Batch(frame)


def _read_only_engine(url: str, timeout_s: float) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise FatalError(f"SQL source URL is not a SQLAlchemy URL: {err}") from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": timeout_s})
        event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only = ON"))
        return engine
    return create_engine(url, pool_pre_ping=True)
