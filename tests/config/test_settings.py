"""Settings: defaults, then file, then IOC_* variables; bad values stop start-up with one clear message."""
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings
from geo.registry import check_province

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_embedded_demo():
    settings = load_settings(environ={})
    assert settings.province_code == "75"
    assert settings.effective_database_url.startswith("sqlite:///") and settings.effective_database_url.endswith("data/ioc.db")
    assert settings.port == 8050 and settings.collection_interval_s == 300


def test_environment_overrides_file_which_overrides_defaults(tmp_path):
    config = tmp_path / "ioc.yaml"
    config.write_text("province_code: '24'\nport: 9000\ncollection_interval_s: 120\n", encoding="utf-8")
    settings = load_settings(config, environ={"IOC_PORT": "9100"})
    assert (settings.province_code, settings.port, settings.collection_interval_s) == ("24", 9100, 120)
    toml = tmp_path / "ioc.toml"
    toml.write_text('province_code = "1"\n', encoding="utf-8")
    assert load_settings(toml, environ={}).province_code == "01"


@pytest.mark.parametrize("environ, words", [
    ({"IOC_DATABASE_URL": "mysql://root@localhost/x"}, ["database_url", "sqlite, postgresql"]),
    ({"IOC_DATABASE_URL": "not a url"}, ["IOC_DATABASE_URL", "postgresql+psycopg://"]),
    ({"IOC_PORT": "70000"}, ["IOC_PORT", "less than or equal"]),
    ({"IOC_COLLECTION_INTERVAL_S": "often"}, ["IOC_COLLECTION_INTERVAL_S", "integer"]),
    ({"IOC_PROVINCE_CODE": "Đồng Nai"}, ["IOC_PROVINCE_CODE", "two-digit"]),
])
def test_bad_values_say_what_is_wrong_and_what_is_allowed(environ, words):
    with pytest.raises(ConfigError) as err:
        load_settings(environ=environ)
    for word in words:
        assert word in str(err.value)


def test_unknown_setting_in_file_is_named(tmp_path):
    config = tmp_path / "ioc.yaml"
    config.write_text("provnce_code: '24'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="Unknown setting 'provnce_code'.*province_code"):
        load_settings(config, environ={})


def test_unknown_province_lists_the_allowed_codes():
    with pytest.raises(ConfigError) as err:
        check_province("99")
    assert "'99'" in str(err.value) and "75 Đồng Nai" in str(err.value) and "24 Bắc Ninh" in str(err.value)


def test_app_refuses_to_start_with_one_clear_message(tmp_path):
    env = {"IOC_PROVINCE_CODE": "99", "IOC_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "app.py", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Unknown province code '99'" in result.stderr and "Traceback" not in result.stderr
