"""The OpenAPI description of the daily-facts feed: the contract a province's system can implement."""
from __future__ import annotations

from config.facts import COUNT_COLUMNS, FLOW_COLUMNS, OPTIONAL_COLUMNS, STOCK_COLUMNS
from config.fields import PROCEDURE_FIELDS

DESCRIPTIONS = {
    "received_online": "Dossiers received during the day online (KenhThucHien = 2)",
    "received_direct": "Dossiers received during the day at the desk or by post (KenhThucHien = 1 or 3)",
    "resolved_early": "Resolved during the day before the due date (trước hạn)",
    "resolved_on_time": "Resolved during the day on the due date (đúng hạn)",
    "resolved_late": "Resolved during the day after the due date (quá hạn)",
    "pending_on_time": "Open at the end of the day, due date not passed (trong hạn)",
    "pending_overdue": "Open at the end of the day, due date passed (quá hạn)",
    "nearly_due": "Open, within deadline, due within the next 24 h (subset of pending_on_time)",
}


def _record_schema() -> dict:
    counts = {c: {"type": "integer", "minimum": 0, "description": DESCRIPTIONS.get(c, f"{c} (optional; "
                                                                                     "omit or null when not known)")}
              for c in COUNT_COLUMNS}
    for column in OPTIONAL_COLUMNS:
        counts[column]["nullable"] = True
    return {
        "type": "object",
        "required": ["unit_code", "day", "field", *FLOW_COLUMNS, *STOCK_COLUMNS],
        "properties": {
            "unit_code": {"type": "string", "description": "Official unit code (QĐ 19/2025/QĐ-TTg)", "example": "26734"},
            "day": {"type": "string", "format": "date"},
            "field": {"type": "string", "enum": [f.code for f in PROCEDURE_FIELDS], "description": "Procedure field"},
            **counts,
        },
    }


def _page_schema() -> dict:
    return {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/DailyFact"}},
        "next": {"type": "string", "nullable": True, "description": "URL of the next page, null on the last"},
        "unknown_units": {"type": "array", "items": {"type": "string"}},
    }}


def _range_parameters() -> list[dict]:
    return [
        {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
    ]


def _responses() -> dict:
    page = {"description": "One page of daily facts", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Page"}}}}
    return {"200": page, "400": {"description": "Bad parameters (the body says which)"},
            "401": {"description": "Missing or wrong bearer token"},
            "429": {"description": "Too many requests; honour Retry-After"},
            "503": {"description": "Temporarily unavailable; retry later"}}


def openapi_document() -> dict:
    """OpenAPI 3.0 document of the feed."""
    units = {"name": "units", "in": "query", "schema": {"type": "string"},
             "description": "Comma-separated unit codes; all units of the served province when absent"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Commune TTHC daily facts feed", "version": "1.0",
                 "description": "One record per (unit, day, procedure field): flows of the day and end-of-day "
                                "stocks, as KPI.md §1 defines them. Today's record covers the day so far."},
        "paths": {
            "/v1/daily-facts": {"get": {"summary": "Daily facts of many units (bulk)",
                                        "parameters": [*_range_parameters(), units], "responses": _responses()}},
            "/v1/units/{unit_code}/daily-facts": {"get": {
                "summary": "Daily facts of one unit",
                "parameters": [{"name": "unit_code", "in": "path", "required": True, "schema": {"type": "string"}},
                               *_range_parameters()],
                "responses": _responses()}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
        },
        "components": {
            "schemas": {"DailyFact": _record_schema(), "Page": _page_schema()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
