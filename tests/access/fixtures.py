"""An app with login switched on over the hand-checked sample store, users of every role, and a way
to build real /_dash-update-component requests from the app's own /_dash-dependencies."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from config.settings import load_settings
from dashboards import loaders, loaders_export, loaders_overview, loaders_systems
from dashboards.app import create_app
from tests.access.helpers import ORIGIN, login, make_user
from tests.dashboards import sample

NOW = sample.NOW
OWN, OTHER, THIRD = sample.A, sample.B, sample.C      # the chair's commune, and two it may not read
ROLE_USERS = {"leader": "leader1", "chair": "chair1", "analyst": "analyst1", "admin": "admin1"}
FROM, TO = "2025-08-01", "2025-08-27"


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, start: dt.datetime = NOW):
        self.at = start

    def __call__(self) -> dt.datetime:
        return self.at


def clear_caches() -> None:
    """Forget every cached loader result (each test has its own store)."""
    for module in (loaders, loaders_overview, loaders_systems, loaders_export):
        module.clear()
    try:
        from dashboards import loaders_rankings
        loaders_rankings.clear()
    except ImportError:
        pass


def make_users(engine) -> None:
    """One active account per role; the chair is bound to OWN."""
    for role, username in ROLE_USERS.items():
        make_user(engine, username, role, OWN if role == "chair" else None,
                  display_name=f"{role} <b>demo</b>")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def secured(engine, tmp_path, clock):
    """(app, engine): the sample store, one user per role, login on, no map geometry."""
    clear_caches()
    sample.write_sample(engine)
    make_users(engine)
    settings = load_settings(environ={}, data_dir=tmp_path)
    app = create_app(settings, engine, None, now=clock)
    yield app, engine
    clear_caches()


def client_for(app, role: str | None):
    """A test client logged in as the role's user (None: anonymous)."""
    client = app.server.test_client()
    if role is not None:
        response = login(client, ROLE_USERS[role])
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def dependencies(client) -> list[dict]:
    """The app's callback declarations, as the browser fetches them."""
    response = client.get("/_dash-dependencies")
    assert response.status_code == 200
    return response.json


def _outputs(spec: str) -> list[dict]:
    if spec.startswith(".."):
        parts = spec[2:-2].split("...")
    else:
        parts = [spec]
    return [dict(zip(("id", "property"), part.rsplit(".", 1))) for part in parts]


def payload(client, output: str, values: dict[str, Any], changed: str | None = None) -> dict:
    """A /_dash-update-component body for the callback whose output includes `output` ("id.prop").

    `values` maps "id.prop" of the callback's inputs and states to what the crafted request sends;
    anything not given is sent as None, as the renderer does for unset properties.
    """
    found = [d for d in dependencies(client) if any(f"{o['id']}.{o['property']}".split("@")[0] == output
                                                      for o in _outputs(d["output"]))]
    assert found, f"no callback outputs {output}"
    spec = found[0]
    outputs = _outputs(spec["output"])

    def items(kind: str) -> list[dict]:
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in spec[kind]]
    inputs = items("inputs")
    return {"output": spec["output"], "outputs": outputs if spec["output"].startswith("..") else outputs[0],
            "inputs": inputs, "state": items("state"),
            "changedPropIds": [changed or f"{inputs[0]['id']}.{inputs[0]['property']}"]}


def post_callback(client, body: dict, headers=ORIGIN):
    """Send a callback request like the browser does."""
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                       headers=headers)


def text_of(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)
