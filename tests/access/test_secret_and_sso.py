"""The session key file and the trusted-proxy check, without a web app."""
import os
import stat

from config.settings import load_settings
from access.secret import session_secret
from access.sso import trusted_username


def test_secret_key_is_generated_once_with_0600(tmp_path):
    settings = load_settings(environ={}, data_dir=tmp_path / "data")
    first = session_secret(settings)
    assert len(first) >= 60 and session_secret(settings) == first
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "secret_key").st_mode) == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret_key"]   # no temporary file left behind
    configured = load_settings(environ={"IOC_SECRET_KEY": "k" * 40}, data_dir=tmp_path / "other")
    assert session_secret(configured) == "k" * 40 and not (tmp_path / "other").exists()


def test_sso_header_needs_a_trusted_peer_and_a_header_name():
    on = load_settings(environ={}, sso_header="X-Remote-User", sso_trusted_proxies=("10.0.0.1", "fd00::/8"))
    header = {"X-Remote-User": " chair1 "}
    assert trusted_username(on, "10.0.0.1", header) == "chair1"
    assert trusted_username(on, "fd00::5", header) == "chair1"
    assert trusted_username(on, "10.0.0.2", header) is None
    assert trusted_username(on, "not-an-ip", header) is None
    assert trusted_username(on, "10.0.0.1", {}) is None
    off = load_settings(environ={}, sso_trusted_proxies=("10.0.0.1",))
    assert trusted_username(off, "10.0.0.1", header) is None
