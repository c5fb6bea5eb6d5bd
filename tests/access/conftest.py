"""Every access test hashes with cheap argon2 parameters, except the one that checks the real ones."""
from tests.access.helpers import cheap_hashing  # noqa: F401

import pytest


@pytest.fixture(autouse=True)
def _cheap(request, cheap_hashing):  # noqa: F811
    yield
