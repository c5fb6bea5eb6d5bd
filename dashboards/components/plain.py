"""Dash components written directly as the JSON Dash sends ({type, namespace, props}), for big tables.

Building a Dash component object costs tens of microseconds (prop validation, wrappers) and
serialising it as much again; a rankings table has thousands of cells. These helpers give the
same JSON straight away, so the browser renders exactly what the component classes would give.
Use them where a callback builds many elements; keep html.* elsewhere (readable, validated).
"""
from __future__ import annotations

from typing import Any

HTML, CORE = "dash_html_components", "dash_core_components"


def tag(name: str, children: Any = None, **props: Any) -> dict:
    """An html.<name> element (props whose value is None are left out, as the component would send)."""
    return _element(HTML, name, children, props)


def link(children: Any, href: str, **props: Any) -> dict:
    """A dcc.Link."""
    return _element(CORE, "Link", children, dict(props, href=href))


def attrs(**props: Any) -> dict:
    """Attributes whose names are not Python identifiers: attrs(data_unit="x") -> {"data-unit": "x"}."""
    return {key.replace("_", "-"): value for key, value in props.items()}


def _element(namespace: str, name: str, children: Any, props: dict) -> dict:
    shown = {key: value for key, value in props.items() if value is not None}
    if children is not None:
        shown["children"] = children
    return {"type": name, "namespace": namespace, "props": shown}
