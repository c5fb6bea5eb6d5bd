"""Serving map geometry files: gzip-compressed once beside the file, sent with a year-long immutable cache.

Both the province route (/geo/<province>.geojson, dashboards.app) and national mode's routes
(/geo/national/<code>.geojson, dashboards.national_geo) answer through `geojson_response`; their URLs
carry a content hash (?v=), so a changed file is a new URL and a year of caching is safe.
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import os
from pathlib import Path

from flask import request, send_file

MAX_AGE_S = 365 * 24 * 3600

log = logging.getLogger(__name__)


def content_hash(path: Path) -> str:
    """The short hash that versions a geometry file's URL and is its ETag."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:20]


def gzipped(path: Path) -> Path | None:
    """The file gzip-compressed once, next to it (rewritten when older than the file); None if unwritable."""
    target = path.with_name(path.name + ".gz")
    try:
        if not target.is_file() or target.stat().st_mtime < path.stat().st_mtime:
            # Write aside, then rename: gunicorn workers starting together never read half a file.
            partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            partial.write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
            os.replace(partial, target)
    except OSError as err:
        log.warning("cannot write %s (%s); the map geometry is sent uncompressed", target, err)
        return None
    return target


def geojson_response(path: Path, etag: str, compressed: Path | None):
    """The file (or its gzip when the browser takes it) as a conditional, long-cached, immutable response."""
    as_gzip = compressed is not None and request.accept_encodings.quality("gzip") > 0
    response = send_file(compressed if as_gzip else path, mimetype="application/geo+json",
                         etag=f"{etag}-gz" if as_gzip else etag, conditional=True, max_age=MAX_AGE_S)
    if as_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.cache_control.immutable = True
    return response
