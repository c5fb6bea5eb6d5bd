"""Simulated provincial systems on 127.0.0.1, with occasional slowdowns and outages (deterministic per seed)."""
from __future__ import annotations

import contextlib
import json
import math
import random
from collections import Counter
from typing import Iterator

from collectors.health.loopback import LoopbackServer, Reply
from config.health import COMMUNE_SYSTEMS, SYSTEM_CATALOG, HealthConfig, load_health_config

# Requests come in blocks; a block is an outage or a slowdown with these odds, so failures come in runs.
BLOCK = 4
OUTAGE_ODDS = 0.03
SLOW_ODDS = 0.06


class DemoBehaviour:
    """Decides each simulated answer from (seed, path, request number): the same seed, the same story."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.requests: Counter[str] = Counter()

    def __call__(self, path: str) -> Reply:
        self.requests[path] += 1
        number = self.requests[path]
        if path.endswith("/metrics"):
            return self._metrics(path, number)
        draw = random.Random(f"{self.seed}:{path}:{number // BLOCK}").random()
        jitter = random.Random(f"{self.seed}:{path}:{number}").random()
        if draw < OUTAGE_ODDS:
            return Reply(status=503, body=b'{"status": "down"}', content_type="application/json")
        delay = 3.5 + jitter if draw < OUTAGE_ODDS + SLOW_ODDS else 0.01 + 0.08 * jitter
        return Reply(body=b'{"status": "ok", "service": "demo"}', delay_s=delay, content_type="application/json")

    def _metrics(self, path: str, number: int) -> Reply:
        # Concurrent users follow a daily-looking wave with noise (peaks like Bắc Ninh's 12,300).
        wave = 6000 + 4000 * math.sin(number / 30) + random.Random(f"{self.seed}:{path}:{number}").uniform(-800, 800)
        body = json.dumps({"concurrent_users": round(max(wave, 0))}).encode()
        return Reply(body=body, content_type="application/json")


@contextlib.contextmanager
def demo_system_servers(seed: int = 2025) -> Iterator[HealthConfig]:
    """Serve simulated system endpoints on 127.0.0.1 and yield a HealthConfig pointing at them."""
    with LoopbackServer(DemoBehaviour(seed)) as server:
        yield demo_config(server.url("").rstrip("/"), server.port)


def demo_config(base: str, port: int) -> HealthConfig:
    """The health configuration of the demo: every catalogue system plus both commune target kinds."""
    systems = {code: {"url": f"{base}/{code}/health", "recipe": "json_ok"} for code in SYSTEM_CATALOG}
    systems["email"] = {"url": f"tcp://127.0.0.1:{port}", "recipe": "tcp_connect"}
    for code in ("tthc", "qlvb"):
        systems[code]["metrics_url"] = f"{base}/{code}/metrics"
        systems[code]["gauges"] = {"concurrent_users": "$.concurrent_users"}
    communes = {kind: {"url_template": f"{base}/xa/{{code}}/{kind}"} for kind in COMMUNE_SYSTEMS}
    recipes = {"json_ok": {"kind": "http", "json_path": "$.status", "json_expected": "ok", "timeout_s": 10}}
    return load_health_config({"systems": systems, "communes": communes, "recipes": recipes})
