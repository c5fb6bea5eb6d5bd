"""Reference feed server (simulator over HTTP) and its command line."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import time

from collectors.feed_server.openapi import openapi_document
from collectors.feed_server.server import FAULTS, FeedConfig, FeedServer

log = logging.getLogger(__name__)

__all__ = ["FAULTS", "FeedConfig", "FeedServer", "add_arguments", "openapi_document", "serve"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of the feed server."""
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of requests answered with a fault")
    parser.add_argument("--faults", default="503", help=f"comma-separated random faults ({', '.join(FAULTS)})")
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument("--seed", type=int, default=2025, help="simulator seed")
    parser.add_argument("--province", default=None, help="province code served by default (all when absent)")
    parser.add_argument("--warm-day", type=dt.date.fromisoformat, default=None,
                        help="precompute this day for every served unit before answering /healthz warm=true")


def serve(args: argparse.Namespace) -> int:
    """Run the feed server in the foreground until interrupted."""
    config = FeedConfig(seed=args.seed, province_code=args.province, latency_ms=args.latency_ms, token=args.token,
                        fail_rate=args.fail_rate, random_faults=tuple(args.faults.split(",")))
    server = FeedServer(config, port=args.port)
    warm = None
    if args.warm_day:
        warm = (server.data.default_units(), args.warm_day, args.warm_day)
    server.start(warm)
    print(f"feed server on {server.url} (OpenAPI: {server.url}/openapi.json)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0
