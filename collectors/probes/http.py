"""The `http` probe on raw asyncio streams: status, keyword / JSON-path checks, TLS expiry, timings.

Lean on purpose: one request per connection (Connection: close), the body is read only when a
content check needs it, and all timings come from one monotonic clock.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import ipaddress
import json
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from collectors.base_probe import ProbeResult, Recipe, Target
from collectors.probes.jsonpath import JsonPathError, as_text, lookup

USER_AGENT = "ioc-health-probe/1"


class ProbeFailure(Exception):
    """A classified failure inside a probe: reason is one of FAILURE_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


async def probe_http(target: Target, recipe: Recipe, timeout: float) -> ProbeResult:
    """Fetch target.url once and judge it by the recipe; never raises."""
    started = time.perf_counter()
    measurements: dict[str, float] = {}
    try:
        async with asyncio.timeout(timeout):
            await _check(target.url, recipe, measurements, started)
    except TimeoutError:
        return _failed("timeout", f"no complete answer within {timeout:g} s", started, measurements)
    except ProbeFailure as failure:
        return _failed(failure.reason, failure.detail, started, measurements)
    except Exception as err:  # the contract: a probe never raises
        return _failed(*classify_error(err), started, measurements)
    return ProbeResult(True, time.perf_counter() - started, None, measurements)


def _failed(reason: str, detail: str, started: float, measurements: dict[str, float]) -> ProbeResult:
    return ProbeResult(False, time.perf_counter() - started, reason, measurements, detail)  # type: ignore[arg-type]


def classify_error(err: BaseException) -> tuple[str, str]:
    """Map a library exception onto (failure reason, detail): the one place that does so."""
    if isinstance(err, socket.gaierror):
        return "dns", f"name not resolved: {err}"
    if isinstance(err, (ssl.SSLError, ssl.CertificateError)):
        return "tls", f"TLS failed: {getattr(err, 'verify_message', None) or err}"
    if isinstance(err, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(err, asyncio.IncompleteReadError):
        return "status", "connection closed before a complete HTTP response"
    if isinstance(err, (asyncio.LimitOverrunError, ValueError)):
        return "status", f"malformed HTTP response: {err}"
    if isinstance(err, OSError):
        return "refused", f"connection failed: {err.strerror or err}"
    return "status", f"unexpected error: {type(err).__name__}: {err}"


async def _check(url: str, recipe: Recipe, measurements: dict[str, float], started: float) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeFailure("dns", f"URL {url!r} is not an http(s) URL with a host")
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    reader, writer = await open_stream(parts.hostname, port, measurements, started)
    try:
        if secure:
            await _start_tls(writer, parts.hostname, recipe, measurements, started)
        writer.write(_request(recipe, parts))
        status, headers = await _read_head(reader, measurements, started)
        _check_status(status, recipe)
        if recipe.body_keyword is not None or recipe.json_path is not None:
            body = await _read_body(reader, headers, recipe.max_body_bytes)
            _check_content(body, recipe)
    finally:
        # abort(): a TLS close would wait for the peer's close_notify, which nobody needs here.
        writer.transport.abort()


async def open_stream(host: str, port: int, measurements: dict[str, float], started: float):
    """Resolve (unless host is an IP literal) and connect, recording dns_s and connect_s."""
    address = host
    if not _is_ip(host):
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        address = infos[0][4][0]
        measurements["dns_s"] = time.perf_counter() - started
    reader, writer = await asyncio.open_connection(address, port, limit=1 << 16)
    measurements["connect_s"] = time.perf_counter() - started
    return reader, writer


@functools.lru_cache(maxsize=64)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _start_tls(writer: asyncio.StreamWriter, host: str, recipe: Recipe,
                     measurements: dict[str, float], started: float) -> None:
    await writer.start_tls(ssl_context(recipe.tls_verify, recipe.ca_file), server_hostname=host)
    measurements["tls_s"] = time.perf_counter() - started
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    if der:
        expires = x509.load_der_x509_certificate(der).not_valid_after_utc
        days_left = (expires - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86_400
        measurements["cert_days_left"] = round(days_left, 3)
        if recipe.cert_min_days is not None and days_left < recipe.cert_min_days:
            raise ProbeFailure("tls", f"certificate expires in {days_left:.1f} days (minimum {recipe.cert_min_days:g})")


@functools.lru_cache(maxsize=16)
def ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """A shared client TLS context: verifying (system CAs or ca_file) or not verifying at all."""
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _request(recipe: Recipe, parts) -> bytes:
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    host = parts.netloc.rsplit("@", 1)[-1]
    lines = [f"{recipe.method} {path} HTTP/1.1", f"Host: {host}", f"User-Agent: {USER_AGENT}",
             "Accept: */*", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in recipe.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_head(reader: asyncio.StreamReader, measurements: dict[str, float],
                     started: float) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    measurements["first_byte_s"] = time.perf_counter() - started
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise ProbeFailure("status", f"not an HTTP response: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    status = int(fields[1])
    measurements["status_code"] = status
    return status, headers


def _check_status(status: int, recipe: Recipe) -> None:
    accepted = status in recipe.valid_status_codes if recipe.valid_status_codes else 200 <= status < 300
    if not accepted:
        wanted = ", ".join(map(str, recipe.valid_status_codes)) or "2xx"
        raise ProbeFailure("status", f"HTTP {status}, expected {wanted}")


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], limit: int) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader, limit)
    if "content-length" in headers:
        return await reader.readexactly(min(int(headers["content-length"]), limit))
    return await reader.read(limit)


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    body = bytearray()
    while len(body) < limit:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            break
        body += await reader.readexactly(size)
        await reader.readexactly(2)
    return bytes(body[:limit])


def _check_content(body: bytes, recipe: Recipe) -> None:
    text = body.decode("utf-8", errors="replace")
    if recipe.body_keyword is not None and recipe.body_keyword not in text:
        raise ProbeFailure("content", f"keyword {recipe.body_keyword!r} not found in the body")
    if recipe.json_path is not None:
        _check_json(text, recipe.json_path, recipe.json_expected)


def _check_json(text: str, path: str, expected: str | None) -> None:
    try:
        value: Any = lookup(json.loads(text), path)
    except json.JSONDecodeError:
        raise ProbeFailure("content", "body is not valid JSON") from None
    except KeyError:
        raise ProbeFailure("content", f"JSON path {path} not found") from None
    except JsonPathError as err:
        raise ProbeFailure("content", str(err)) from None
    if expected is not None and as_text(value) != expected:
        raise ProbeFailure("content", f"JSON path {path} is {as_text(value)!r}, expected {expected!r}")


async def fetch_json(url: str, timeout: float, recipe: Recipe | None = None) -> Any:
    """GET a JSON document (a system's metrics URL); raise ProbeFailure/TimeoutError on trouble."""
    recipe = recipe or Recipe(name="metrics")
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    async with asyncio.timeout(timeout):
        reader, writer = await open_stream(parts.hostname or "", parts.port or (443 if secure else 80), {}, time.perf_counter())
        try:
            if secure:
                await writer.start_tls(ssl_context(recipe.tls_verify, recipe.ca_file), server_hostname=parts.hostname)
            writer.write(_request(recipe, parts))
            status, headers = await _read_head(reader, {}, time.perf_counter())
            _check_status(status, recipe)
            body = await _read_body(reader, headers, recipe.max_body_bytes)
        finally:
            writer.transport.abort()
    return json.loads(body.decode("utf-8"))
