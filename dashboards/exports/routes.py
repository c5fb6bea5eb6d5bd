"""Download routes: /export/download?from=…&to=…[&units=…&fields=…&by=…&format=…&lang=…] and /export/jobs/<id>.

Every parameter is validated (dashboards.exports.request); bad input answers 400 with a message
that says what to fix. CSV streams from the store chunk by chunk; XLSX files are built in a
spooled temporary file (the page runs big ones as background jobs instead). Reads go through the
caller's store.scoped.ScopedReader, and every export is audited (who, what, when, row count).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, request as http_request, send_file

from access import audit
from access.scope import current_reader, current_scope
from dashboards import context, loaders_export
from dashboards.exports.jobs import jobs_for
from dashboards.exports.request import (
    ExportInputError, ExportRequest, apply_scope, file_name, request_from_params, to_params,
)
from dashboards.exports.run import csv_stream, write_export
from dashboards.i18n import lang_from_search, t

DOWNLOAD_PATH = "/export/download"
JOB_PATH = "/export/jobs/"
# "tinh": national mode's province (dashboards.scope_url has narrowed the scope to it already).
PARAMETERS = {"from", "to", "units", "fields", "by", "format", "lang", "tinh"}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPOOL_BYTES = 32 * 1024 * 1024


def register_routes(app) -> None:
    """Add the export download routes to a Dash app's Flask server."""
    app.server.add_url_rule(DOWNLOAD_PATH, endpoint="ioc_export_download", view_func=download)
    app.server.add_url_rule(JOB_PATH + "<job_id>", endpoint="ioc_export_job_file", view_func=job_file)


def export_jobs():
    """The job registry of the app serving this request (files under <data_dir>/exports)."""
    from flask import current_app

    return jobs_for(current_app, Path(context.current().settings.data_dir) / "exports")


def parse(params) -> ExportRequest:
    """Validate query parameters, then limit them to the caller's access scope (403 outside it)."""
    app = context.current()
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise ExportInputError(f"Unknown parameters {unknown}; allowed: {', '.join(sorted(PARAMETERS))}")
    scope = current_scope()
    scope.require_export()  # before anything is read: a caller who may not export learns nothing more
    known = loaders_export.known_codes(current_reader(app.engine), app.province_code)
    return apply_scope(request_from_params(params, app.province_code, known), scope)


def download():
    """Send the export the query describes, or 400 saying what is wrong."""
    try:
        export = parse(http_request.args)
    except ExportInputError as err:
        return _bad_request(str(err))
    app, reader = context.current(), current_reader(context.current().engine)
    units = loaders_export.units(reader, app.province_code)
    name = file_name(export)
    record = audit_export(app.engine, app.now(), current_scope(), export, http_request.remote_addr or "")
    if export.fmt == "csv":
        response = Response(_counted(csv_stream(reader, export, units), record), mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Cache-Control"] = "no-store"
        return response
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    rows = write_export(reader, export, spool, units=units, reporter=loaders_export.reporter_name(app.province_code),
                        generated_at=app.now())
    record(rows)
    spool.seek(0)
    return send_file(spool, mimetype=XLSX_MIME, as_attachment=True, download_name=name, max_age=0)


def job_file(job_id: str):
    """Send a finished job's file; 404 for unknown, unfinished or expired jobs."""
    found = export_jobs().file(job_id, owner=current_scope().username)
    if found is None:
        return Response(t("export_job_gone", _lang()) + "\n", status=404, mimetype="text/plain")
    path, name = found
    return send_file(path, mimetype=XLSX_MIME if name.endswith(".xlsx") else "text/csv", as_attachment=True,
                     download_name=name, max_age=0)


def audit_export(engine, now, scope, export: ExportRequest, ip: str):
    """A function that writes the audit entry of this export once its row count is known."""
    def record(rows: int) -> None:
        audit.record_export(engine, now, scope, file_name(export), rows, to_params(export), ip)
    return record


def _counted(pieces, record):
    """Pass the CSV through, counting its data rows; audit the export when the last piece has gone."""
    rows = -1  # the header line is not a data row
    try:
        for piece in pieces:
            rows += piece.count(b"\r\n")
            yield piece
    finally:  # also when the client goes away mid-download: what left is what was exported
        record(max(rows, 0))


def _bad_request(message: str) -> Response:
    return Response(f"{t('export_bad_request', _lang())}: {message}\n", status=400,
                    mimetype="text/plain")


def _lang() -> str:
    return lang_from_search(http_request.query_string.decode("latin-1"))
