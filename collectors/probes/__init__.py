"""Probe registry by kind name: every probe has the signature of collectors.base_probe.ProbeFunc."""
from __future__ import annotations

from collectors.base_probe import PROBE_KINDS, ProbeFunc
from collectors.probes.http import probe_http
from collectors.probes.tcp import probe_tcp

PROBES: dict[str, ProbeFunc] = {"http": probe_http, "tcp": probe_tcp}
assert tuple(PROBES) == PROBE_KINDS


def get_probe(kind: str) -> ProbeFunc:
    """The probe function for a kind; raise ValueError naming the known kinds otherwise."""
    try:
        return PROBES[kind]
    except KeyError:
        raise ValueError(f"Unknown probe kind {kind!r}; use one of: {', '.join(PROBES)}") from None
