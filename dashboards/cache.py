"""The loaders' result cache: Redis shared by every web worker when IOC_REDIS_URL is set, else one per process.

`init_cache(server, settings)` (called by dashboards.app.create_app) builds the backend with
Flask-Caching: RedisCache for `settings.redis_url`, SimpleCache otherwise. Loaders mark their
store-reading functions with `@memoize`; the key is the function's name plus every argument,
normalised so that it is the same in every process (a ScopedReader becomes the store's identity
and the scope's province and units, dates their ISO text, sets sorted). The loaders pass the
data stamp (time of the newest collection run) as an argument, so new data changes every key.

Invalidation, three ways:
- the stamp is in every key: a collection run by another process is seen by the next request
  after the stamp is re-read, which `stamp()` does at most once per STAMP_TTL_S per worker (a
  tiny MAX() query instead of one per loader call);
- `invalidate()` (wired to the in-process collector's on_run hook in app.py) clears the caches
  and forgets the stamps at once;
- entries expire after `timeout` seconds anyway, so Redis does not keep unreachable old keys.

A cache outage never breaks a page: a failing backend is logged once and the loader computes.
Values are pickled by the backends, so every hit is a fresh object callers may modify.

Rendered callback outputs (`@rendered` on a page callback) are cached too, as the plain JSON-ready
structure Dash sends (components and figures already turned into dicts), keyed on the callback's
arguments and `callback_view()`: the caller's data scopes, the store, the data stamp, the app's
settings and the clock's minute. A repeated view then costs a cache hit and orjson, not the
rebuilding of a table or figure. Only requests to Dash's callback route use it: direct calls
(tests, scripts) get the live component and figure objects.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import os
import threading
import time
import uuid
import weakref
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

import orjson
from cachelib import SimpleCache
from dash._no_update import NoUpdate
from flask import current_app, has_app_context, has_request_context, request
from flask_caching import Cache
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)
T = TypeVar("T")

EXTENSION_KEY = "ioc_cache"
KEY_PREFIX = "ioc:"
STAMP_TTL_S = 1.0            # how stale a worker's view of "newest collection run" may be
LOCAL_THRESHOLD = 2048       # entries kept by a per-process cache before it prunes
MIN_TIMEOUT_S = 600
# A slow or gone Redis must cost a page half a second at most, not a worker timeout.
REDIS_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "health_check_interval": 30}

_BACKENDS: "weakref.WeakSet" = weakref.WeakSet()   # every backend of this process, for invalidate()
_FALLBACK = SimpleCache(threshold=LOCAL_THRESHOLD, default_timeout=MIN_TIMEOUT_S)  # callers outside an app
_BACKENDS.add(_FALLBACK)
_IDENTITIES: "weakref.WeakKeyDictionary[Engine, str]" = weakref.WeakKeyDictionary()
_failing = threading.Event()


def init_cache(server, settings) -> Any:
    """Give a Flask server its loader cache (Redis when settings.redis_url, else in-process); return the backend."""
    timeout = max(MIN_TIMEOUT_S, 2 * settings.collection_interval_s)
    if settings.redis_url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.redis_url, "CACHE_KEY_PREFIX": KEY_PREFIX,
                  "CACHE_DEFAULT_TIMEOUT": timeout, "CACHE_OPTIONS": dict(REDIS_OPTIONS)}
    else:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": LOCAL_THRESHOLD, "CACHE_DEFAULT_TIMEOUT": timeout}
    flask_cache = Cache(server, config=config)
    backend = server.extensions["cache"][flask_cache]
    server.extensions[EXTENSION_KEY] = backend
    _BACKENDS.add(backend)
    return backend


def memoize(function: Callable[..., T] | None = None, **_ignored) -> Callable[..., T]:
    """Cache a loader function's results in the current app's cache (usable as @memoize or @memoize())."""
    def decorate(inner: Callable[..., T]) -> Callable[..., T]:
        name = f"{inner.__module__}.{inner.__qualname__}"

        @functools.wraps(inner)
        def wrapper(*args, **kwargs):
            parts = (args, tuple(sorted(kwargs.items()))) if kwargs else args
            return cached_call(name, parts, lambda: inner(*args, **kwargs))
        def cached(*args, **kwargs):
            """The cached result for these arguments, or None when it is not cached (nothing is computed)."""
            parts = (args, tuple(sorted(kwargs.items()))) if kwargs else args
            return peek(name, parts)
        wrapper.cache_clear = invalidate  # what lru_cache offered; one shared cache has one clear
        wrapper.cached = cached
        return wrapper
    return decorate(function) if function is not None else decorate


def cached_call(name: str, parts: Any, compute: Callable[[], T]) -> T:
    """The cached value of `compute()` under (name, parts); compute and store it on a miss."""
    backend, key = current_backend(), cache_key(name, parts)
    try:
        found = backend.get(key)
    except Exception as err:  # noqa: BLE001 - a cache outage must not take the page down
        _report_failure(err)
        return compute()
    if found is not None:
        return found[0]
    value = compute()
    try:
        backend.set(key, (value,))  # wrapped, so a cached None is told apart from a miss
        _report_recovery()
    except Exception as err:  # noqa: BLE001
        _report_failure(err)
    return value


RENDER_ROUTE = "_dash-update-component"
_SETTINGS_DIGESTS: dict[int, tuple[Any, str]] = {}


def rendered(function: Callable[..., T] | None = None, *, health: bool = False) -> Callable[..., T]:
    """Cache a page callback's output, as sent to the browser, for the current view (see callback_view).

    `health=True` for outputs that show probe results: the newest probe round is then part of the key.
    """
    def decorate(inner: Callable[..., T]) -> Callable[..., T]:
        name = f"render:{inner.__module__}.{inner.__qualname__}"

        @functools.wraps(inner)
        def wrapper(*args, **kwargs):
            if not _serving_callback():
                return inner(*args, **kwargs)
            parts = (args, tuple(sorted(kwargs.items())), callback_view(health))
            return cached_call(name, parts, lambda: plain(inner(*args, **kwargs)))
        return wrapper
    return decorate(function) if function is not None else decorate


def callback_view(health: bool = False) -> tuple:
    """Everything a rendered output depends on besides the callback's arguments.

    The caller's scope (its own and the rankings one: different users of one scope share entries),
    the store and its data stamp, the app's settings, and the clock to the minute (staleness,
    system states and "today" move with it; health loaders key on the minute as well). In national
    mode the page's URL query too, since callbacks read the province shown from it.
    """
    from access.scope import current_scope
    from dashboards import context, loaders
    from store.scoped import ScopedReader

    app, scope = context.current(), current_scope()
    reader = ScopedReader(app.engine, scope.data_scope())
    minute = app.now().replace(second=0, microsecond=0)
    view = (store_identity(app.engine), _settings_digest(app.settings), scope.role, scope.can_export,
            scope.data_scope(), scope.for_rankings().data_scope(), loaders.data_stamp(reader), minute)
    if getattr(app.settings, "national", False):  # the province shown comes from the page's URL (Referer)
        view += (urlsplit(request.headers.get("Referer", "")).query,)
    if health:
        from dashboards import loaders_systems
        view += (loaders_systems.health_stamp(reader),)
    return view


def plain(value: Any) -> Any:
    """A callback output as JSON-ready dicts and lists (what Dash would serialise), cheap to cache and send.

    One orjson round trip turns components and figures (through their to_plotly_json) into plain
    data; a top-level no_update stays itself, as Dash must see it.
    """
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, NoUpdate) or value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        return orjson.loads(orjson.dumps(value, default=_json_default, option=JSON_OPTIONS))
    except TypeError:  # something orjson cannot write: let Dash's own serialiser deal with it
        return value


JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _json_default(value: Any) -> Any:
    if hasattr(value, "to_plotly_json"):
        return value.to_plotly_json()
    if hasattr(value, "tolist"):  # numpy arrays orjson does not write natively (objects), numpy scalars
        return value.tolist()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _serving_callback() -> bool:
    return has_request_context() and request.path.endswith(RENDER_ROUTE)


def _settings_digest(settings) -> str:
    known = _SETTINGS_DIGESTS.get(id(settings))
    if known is None or known[0] is not settings:
        digest = hashlib.sha256(repr(_normal(settings)).encode("utf-8")).hexdigest()[:16]
        known = _SETTINGS_DIGESTS[id(settings)] = (settings, digest)
    return known[1]


def peek(name: str, parts: Any) -> Any:
    """The value cached under (name, parts), or None (a miss, or the cache unavailable)."""
    try:
        found = current_backend().get(cache_key(name, parts))
    except Exception as err:  # noqa: BLE001
        _report_failure(err)
        return None
    return None if found is None else found[0]


def current_backend():
    """The cache of the app serving this request, or the process-local one outside any app."""
    if has_app_context():
        backend = current_app.extensions.get(EXTENSION_KEY)
        if backend is not None:
            return backend
    return _FALLBACK


def invalidate(_summary: Any = None) -> None:
    """Clear every loader cache of this process (and the shared Redis keys); forget the stamps.

    Takes an optional argument so that it can be the collector's on_run hook as it is.
    """
    STAMPS.forget()
    for backend in list(_BACKENDS):
        try:
            backend.clear()
        except Exception as err:  # noqa: BLE001
            _report_failure(err)


# --- keys -------------------------------------------------------------------------------------

def cache_key(name: str, parts: Any) -> str:
    """A key that is the same in every process for equal arguments (SHA-256 of their normal form)."""
    digest = hashlib.sha256(repr(_normal(parts)).encode("utf-8")).hexdigest()[:40]
    return f"{name}:{digest}"


def _normal(value: Any) -> Any:
    from pydantic import BaseModel

    from store.scoped import ScopedReader

    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, ScopedReader):
        scope = value.scope
        units = None if scope.unit_codes is None else tuple(sorted(scope.unit_codes))
        return ("reader", store_identity(value.engine), scope.province_code, units)
    if isinstance(value, Engine):
        return ("store", store_identity(value))
    if isinstance(value, (dt.date, dt.time)):  # datetime and pandas.Timestamp are dates too
        return (type(value).__name__, value.isoformat())
    if isinstance(value, (tuple, list)):
        return tuple(_normal(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((_normal(item) for item in value), key=repr)))
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((repr(_normal(k)), _normal(v)) for k, v in value.items()))))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__,
                tuple((f.name, _normal(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, BaseModel):
        return (type(value).__qualname__, value.model_dump_json())
    raise TypeError(f"Cannot build a cache key from a {type(value).__name__}; "
                    "pass plain values (str, numbers, dates, tuples, dataclasses) to memoized loaders")


def store_identity(engine: Engine) -> str:
    """What names this store in every process: the SQLite file, or the PostgreSQL URL and schema."""
    identity = _IDENTITIES.get(engine)
    if identity is None:
        identity = _identify(engine)
        _IDENTITIES[engine] = identity
    return identity


def _identify(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return f"sqlite-memory:{os.getpid()}:{uuid.uuid4().hex}"  # private to this engine
        return f"sqlite:{os.path.abspath(url.database)}"
    # The schema comes from the connection's search_path (store.db sets it per engine), not the URL.
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    return f"{url.render_as_string(hide_password=True)}#{schema}"


# --- stamps -----------------------------------------------------------------------------------

class StampMemo:
    """Re-read a store's stamps (newest collection run, newest probe round) at most once per ttl_s.

    Only inside web requests: scripts and tests outside a request read the store every time, so
    they see their own writes at once. `clock` is replaceable so that tests control time.
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, engine: Engine, kind: str, read: Callable[[], T]) -> T:
        """The stamp of this kind for the store, from memory when read less than ttl_s ago."""
        if not has_request_context():
            return read()
        key, now = (store_identity(engine), kind), self.clock()
        with self._lock:
            seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.ttl_s:
            return seen[1]
        value = read()
        with self._lock:
            self._seen[key] = (now, value)
        return value

    def forget(self) -> None:
        """Drop every remembered stamp (the next request re-reads them)."""
        with self._lock:
            self._seen.clear()


STAMPS = StampMemo(STAMP_TTL_S)


def stamp(engine: Engine, kind: str, read: Callable[[], T]) -> T:
    """A store stamp (e.g. kind 'data' = newest collection run), re-read at most once per STAMP_TTL_S per worker."""
    return STAMPS.get(engine, kind, read)


def _report_failure(err: Exception) -> None:
    if not _failing.is_set():
        _failing.set()
        log.warning("loader cache unavailable (%s); computing results directly until it is back", err)


def _report_recovery() -> None:
    if _failing.is_set():
        _failing.clear()
        log.info("loader cache is back")
