"""The probe contract (a leaf: imports nothing of ours).

One signature for every probe kind, as in prometheus/blackbox_exporter:
``await probe(target, recipe, timeout) -> ProbeResult``. A probe measures; it never retries and
never raises. Recipes (how to check: http_2xx, tcp_connect) are separate from targets (what to check).
"""
from __future__ import annotations

import dataclasses
from typing import Awaitable, Callable, Literal, Mapping

# The fixed set of failure reasons; anything a probe meets is mapped onto one of these.
FAILURE_REASONS = ("timeout", "refused", "dns", "tls", "status", "content")
FailureReason = Literal["timeout", "refused", "dns", "tls", "status", "content"]
PROBE_KINDS = ("http", "tcp")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to check a target: the probe kind and what counts as success."""

    name: str
    kind: str = "http"                                   # one of PROBE_KINDS
    method: str = "GET"
    valid_status_codes: tuple[int, ...] = ()            # empty = any 2xx
    body_keyword: str | None = None                      # the body must contain this text
    json_path: str | None = None                         # e.g. "$.status" or "data.items[0].ok"
    json_expected: str | None = None                     # compared as text; None = the path must exist
    timeout_s: float = 10.0
    tls_verify: bool = True
    ca_file: str | None = None                           # extra trusted CA (PEM), e.g. a private CA
    cert_min_days: float | None = None                   # fail with "tls" when the certificate expires sooner
    headers: tuple[tuple[str, str], ...] = ()
    max_body_bytes: int = 1_000_000


@dataclasses.dataclass(frozen=True)
class Target:
    """What to check: one endpoint of one system (optionally of one commune)."""

    key: str                                             # stable id, e.g. "tthc" or "mot_cua_xa:26734"
    system: str                                          # system code, e.g. "tthc", "mot_cua_xa"
    name: str                                            # Vietnamese display name
    url: str                                             # http(s)://... or tcp://host:port
    recipe: str = "http_2xx"
    interval_s: float = 60.0
    unit_code: str | None = None                         # commune targets carry their unit


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """One attempt: success, how long it took, why it failed, and what was measured."""

    success: bool
    duration_s: float
    failure_reason: FailureReason | None = None
    measurements: Mapping[str, float] = dataclasses.field(default_factory=dict)
    detail: str = ""                                     # human-readable cause, for failures

    def __post_init__(self) -> None:
        if self.failure_reason is not None and self.failure_reason not in FAILURE_REASONS:
            raise ValueError(f"failure_reason {self.failure_reason!r} is not one of {FAILURE_REASONS}")


ProbeFunc = Callable[[Target, Recipe, float], Awaitable[ProbeResult]]


def effective_timeout(target: Target, recipe: Recipe) -> float:
    """The recipe's timeout, cut so that it never outlives the target's interval."""
    return max(0.001, min(recipe.timeout_s, target.interval_s))
