"""What an export asks for, validated once: from URL parameters (web) or arguments (command line).

Every value that reaches a file name or a query comes out of here checked against a whitelist
(dates, digits-only unit codes known in the province, field codes, grains, formats), so neither a
file name nor a query can be steered by user input.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from config.fields import FIELDS_BY_CODE
from dashboards.i18n import normalise_lang
from store.readers_export import GRAINS

FORMATS = ("bieu06-xlsx", "csv", "xlsx")
EXTENSIONS = {"bieu06-xlsx": "xlsx", "csv": "csv", "xlsx": "xlsx"}
MAX_DAYS = 10 * 366          # a decade: far beyond any real report, short of a typo like year 20250
MAX_UNITS = 5000             # more codes than the whole country has units
_CODE = re.compile(r"^[0-9]{2,8}$")


class ExportInputError(ValueError):
    """A bad export parameter; the message says what was wrong and what to write instead."""


@dataclass(frozen=True)
class ExportRequest:
    """A validated export: period, scope (province, optional units and fields), grain, format, language."""

    start: dt.date
    end: dt.date
    province_code: str
    unit_codes: tuple[str, ...] | None = None
    fields: tuple[str, ...] | None = None
    by: str = "month"
    fmt: str = "csv"
    lang: str = "vi"

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.fmt]

    def with_format(self, fmt: str) -> "ExportRequest":
        """The same filters in another format."""
        return replace(self, fmt=check_format(fmt))


def parse_date(value, name: str) -> dt.date:
    """Read a YYYY-MM-DD date, or raise ExportInputError naming the parameter."""
    text = str(value or "").strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExportInputError(f"{name} must be a date written YYYY-MM-DD, e.g. 2025-07-01; got {text!r}") from None


def check_format(fmt: str) -> str:
    """Return the format if known, else raise ExportInputError listing the formats."""
    if fmt not in FORMATS:
        raise ExportInputError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt


def build_request(start: dt.date, end: dt.date, province_code: str, known_units: Iterable[str], *,
                  unit_codes: Iterable[str] | None = None, fields: Iterable[str] | None = None,
                  by: str = "month", fmt: str = "csv", lang: str = "vi") -> ExportRequest:
    """Check every part of an export and return it as a request."""
    if start > end:
        raise ExportInputError(f"The period starts on {start} after it ends on {end}; swap the dates")
    if (end - start).days + 1 > MAX_DAYS:
        raise ExportInputError(f"The period {start} .. {end} is longer than {MAX_DAYS} days; check the years")
    if by not in GRAINS:
        raise ExportInputError(f"Unknown period grain {by!r}; use one of {', '.join(GRAINS)}")
    return ExportRequest(start, end, province_code, _units(unit_codes, province_code, known_units),
                         _fields(fields), by, check_format(fmt), normalise_lang(lang))


def request_from_params(params: Mapping, province_code: str, known_units: Iterable[str]) -> ExportRequest:
    """Validate URL query parameters (from, to, units, fields, by, format, lang) into a request."""
    def one(name: str, default: str | None = None) -> str | None:
        values = params.getlist(name) if hasattr(params, "getlist") else [params[name]] if name in params else []
        if len(values) > 1:
            raise ExportInputError(f"Parameter {name!r} is given {len(values)} times; give it once")
        return values[0] if values else default

    for name in ("from", "to"):
        if not one(name):
            raise ExportInputError(f"Parameter {name!r} is missing; add {name}=YYYY-MM-DD")
    return build_request(parse_date(one("from"), "from"), parse_date(one("to"), "to"), province_code, known_units,
                         unit_codes=split_list(one("units")), fields=split_list(one("fields")),
                         by=one("by", "month"), fmt=one("format", "csv"), lang=one("lang", "vi"))


def split_list(value: str | None) -> list[str] | None:
    """Split 'a,b, c' into ['a', 'b', 'c']; None or blank means 'no filter'."""
    items = [part.strip() for part in str(value or "").split(",") if part.strip()]
    return items or None


def to_params(request: ExportRequest) -> dict[str, str]:
    """The URL query parameters that request_from_params turns back into this request."""
    params = {"from": request.start.isoformat(), "to": request.end.isoformat(), "by": request.by,
              "format": request.fmt}
    if request.unit_codes:
        params["units"] = ",".join(request.unit_codes)
    if request.fields:
        params["fields"] = ",".join(request.fields)
    if request.lang != "vi":
        params["lang"] = request.lang
    return params


def file_name(request: ExportRequest) -> str:
    """A safe download name built only from validated parts, e.g. bieu06_75_2025-07-01_2025-08-27.xlsx."""
    stem = "bieu06" if request.fmt == "bieu06-xlsx" else f"thong-ke-dung-han_{request.by}"
    scope = f"_{len(request.unit_codes)}-don-vi" if request.unit_codes else ""
    where = request.province_code or "toan-quoc"   # national mode's whole nation has no province code
    return f"{stem}_{where}{scope}_{request.start}_{request.end}.{request.extension}"


def apply_scope(request: ExportRequest, scope) -> ExportRequest:
    """Limit the request to what an access.scope.Scope may export (OutOfScope, i.e. 403, otherwise)."""
    from access.scope import OutOfScope

    scope.require_export()
    if scope.province_code != request.province_code:
        raise OutOfScope(f"{scope.describe()} may not export province {request.province_code}")
    return replace(request, unit_codes=scope.restrict(request.unit_codes))


def _units(codes: Iterable[str] | None, province_code: str, known_units: Iterable[str]) -> tuple[str, ...] | None:
    if codes is None:
        return None
    codes = list(dict.fromkeys(str(c).strip() for c in codes if str(c).strip()))
    if not codes:
        return None
    if len(codes) > MAX_UNITS:
        raise ExportInputError(f"{len(codes)} unit codes is more than {MAX_UNITS}; leave units out for the whole province")
    malformed = [c for c in codes if not _CODE.match(c)]
    if malformed:
        raise ExportInputError(f"Unit codes are 2 to 8 digits; these are not: {', '.join(map(repr, malformed[:5]))}")
    unknown = sorted(set(codes) - set(known_units))
    if unknown:
        raise ExportInputError(f"Unknown unit codes for province {province_code}: {', '.join(unknown[:10])}"
                               f"{' …' if len(unknown) > 10 else ''}; use official codes of this province's units")
    return tuple(sorted(codes))


def _fields(fields: Iterable[str] | None) -> tuple[str, ...] | None:
    if fields is None:
        return None
    fields = list(dict.fromkeys(str(f).strip() for f in fields if str(f).strip()))
    unknown = [f for f in fields if f not in FIELDS_BY_CODE]
    if unknown:
        raise ExportInputError(f"Unknown procedure fields {', '.join(map(repr, unknown[:5]))}; "
                               f"use some of {', '.join(FIELDS_BY_CODE)}")
    if not fields:
        return None
    return tuple(f for f in FIELDS_BY_CODE if f in fields)  # canonical order
