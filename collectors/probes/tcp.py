"""The `tcp` probe: can a connection be opened (tcp://host:port)?"""
from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from collectors.base_probe import ProbeResult, Recipe, Target
from collectors.probes.http import classify_error, open_stream


async def probe_tcp(target: Target, recipe: Recipe, timeout: float) -> ProbeResult:
    """Open one TCP connection to target.url and close it; never raises."""
    started = time.perf_counter()
    measurements: dict[str, float] = {}
    parts = urlsplit(target.url if "://" in target.url else f"tcp://{target.url}")
    try:
        if not parts.hostname or parts.port is None:
            return ProbeResult(False, 0.0, "dns", {}, f"{target.url!r} is not tcp://host:port")
        async with asyncio.timeout(timeout):
            _reader, writer = await open_stream(parts.hostname, parts.port, measurements, started)
        writer.transport.abort()
    except TimeoutError:
        return ProbeResult(False, time.perf_counter() - started, "timeout", measurements,
                           f"no connection within {timeout:g} s")
    except Exception as err:  # the contract: a probe never raises
        reason, detail = classify_error(err)
        return ProbeResult(False, time.perf_counter() - started, reason, measurements, detail)  # type: ignore[arg-type]
    return ProbeResult(True, time.perf_counter() - started, None, measurements)
