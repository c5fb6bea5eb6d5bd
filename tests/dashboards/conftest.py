"""Browser tests run in Debian's headless Chromium, with or without dash's --headless flag."""
from __future__ import annotations

import socket

import pytest
from selenium.webdriver.chrome.options import Options

CHROMIUM = "/usr/bin/chromium"


def pytest_setup_options():
    """Chrome options for dash[testing]: headless, sandbox-free, and no calls home."""
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    return options


@pytest.fixture
def free_port():
    """A loopback port nobody listens on, so parallel runs never collide on dash's default 8050."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
