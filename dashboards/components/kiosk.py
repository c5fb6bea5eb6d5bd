"""Wall (kiosk) mode for the operations room: `?kiosk=1` hides the navigation chrome, enlarges type
and rotates through the rooms (/, /rankings, /systems — whichever are registered).

Each room refreshes its own figures at the collection cadence; rotating re-renders the next room,
so a wall screen never shows numbers older than one collection. `?rotate=<seconds>` sets the pace.
"""
from __future__ import annotations

from urllib.parse import parse_qsl

import dash
from dash import Input, Output, State, dcc

ROOT, ROTATE, NAV = "app-root", "app-kiosk-rotate", "app-kiosk-url"
KIOSK_ROOMS = ("/", "/rankings", "/systems")   # the wall's rooms, in order, when registered
DEFAULT_ROTATE_S, MIN_ROTATE_S, MAX_ROTATE_S = 60, 10, 3600
APP_CLASS, KIOSK_CLASS = "app", "app kiosk"


def kiosk_components() -> list:
    """The rotation timer, off until the URL asks for kiosk mode (placed in the shell)."""
    # A Location of its own with "callback-nav": setting its pathname makes the page router follow.
    return [dcc.Interval(id=ROTATE, interval=DEFAULT_ROTATE_S * 1000, disabled=True),
            dcc.Location(id=NAV, refresh="callback-nav")]


def is_kiosk(search: str | None) -> bool:
    """Say whether a query string asks for wall mode (?kiosk=1, true or yes)."""
    value = dict(parse_qsl((search or "").lstrip("?"))).get("kiosk", "")
    return value.strip().lower() in ("1", "true", "yes")


def rotate_seconds(search: str | None) -> int:
    """Seconds per room from ?rotate=, clamped to a sane range; the default when absent or unreadable."""
    value = dict(parse_qsl((search or "").lstrip("?"))).get("rotate", "")
    try:
        return min(max(int(value), MIN_ROTATE_S), MAX_ROTATE_S)
    except ValueError:
        return DEFAULT_ROTATE_S


def kiosk_rooms(registry=None) -> list[str]:
    """Paths of the wall's rooms that are registered, in KIOSK_ROOMS order (all nav rooms if none are)."""
    pages = list((registry if registry is not None else dash.page_registry).values())
    paths = {p["path"] for p in pages}
    rooms = [path for path in KIOSK_ROOMS if path in paths]
    if rooms:
        return rooms
    nav = sorted((p for p in pages if p.get("nav_key")), key=lambda p: (p.get("order") or 0, p["path"]))
    return [p["path"] for p in nav] or ["/"]


def next_room(current: str | None, rooms: list[str]) -> str:
    """The room after `current` (the first one when `current` is not a wall room)."""
    if current in rooms:
        return rooms[(rooms.index(current) + 1) % len(rooms)]
    return rooms[0]


def register_kiosk_callbacks(app: dash.Dash) -> None:
    """Switch the shell into wall mode from the URL and rotate the rooms."""
    @app.callback(Output(ROOT, "className"), Output(ROTATE, "disabled"), Output(ROTATE, "interval"),
                  Input("app-url", "search"))
    def update_kiosk(search):
        kiosk = is_kiosk(search)
        return (KIOSK_CLASS if kiosk else APP_CLASS), not kiosk, rotate_seconds(search) * 1000

    @app.callback(Output(NAV, "pathname"), Input(ROTATE, "n_intervals"), State("app-url", "pathname"),
                  State("app-url", "search"), prevent_initial_call=True)
    def update_room(_ticks, pathname, search):
        rooms = kiosk_rooms()
        if not is_kiosk(search) or len(rooms) < 2:
            raise dash.exceptions.PreventUpdate
        current = "/" + (app.strip_relative_path(pathname or "/") or "")
        return app.get_relative_path(next_room(current, rooms))
