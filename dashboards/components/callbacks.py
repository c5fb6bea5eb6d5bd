"""Callbacks of modules that are not Dash pages, declared once at import and added to every app.

`dash.callback` queues a callback globally and Dash hands the queue to the first app that sets itself
up; page modules are re-imported per app (use_pages), so each app gets their callbacks, but an
ordinary module is imported once: a second app in the process (tests, a script building two apps)
would silently lack its callbacks. A module declares them on its own CallbackSet instead, and
whoever builds an app calls `register(app)`.
"""
from __future__ import annotations

from typing import Any, Callable


class CallbackSet:
    """`@callbacks(Output(...), Input(...), ...)` records a callback; `callbacks.register(app)` adds them all."""

    def __init__(self) -> None:
        self._declared: list[tuple[tuple, dict, Callable[..., Any]]] = []

    def __call__(self, *dependencies, **options) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def declare(function: Callable[..., Any]) -> Callable[..., Any]:
            self._declared.append((dependencies, options, function))
            return function
        return declare

    def register(self, app) -> None:
        """Add every declared callback to the Dash app (once per app)."""
        for dependencies, options, function in self._declared:
            app.callback(*dependencies, **options)(function)
