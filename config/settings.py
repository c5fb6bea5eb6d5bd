"""Typed settings: defaults, then a YAML/TOML config file, then IOC_* environment variables.

Validated once at start-up and passed explicitly; no module reads os.environ after that.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

from config.alerts import AlertsConfig
from config.errors import ConfigError
from config.health import HealthConfig
from config.service_index import ServiceIndexConfig

__all__ = ["ConfigError", "Settings", "load_settings"]
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
SUPPORTED_DB_BACKENDS = ("sqlite", "postgresql")
CONFIG_FILE_ENV = "IOC_CONFIG"
MODES = ("province", "national")


class Settings(BaseSettings):
    """Everything the application can be told at start-up."""

    model_config = SettingsConfigDict(env_prefix="IOC_", extra="forbid", frozen=True)

    province_code: str = Field("75", description="Two-digit official province code (75 = Đồng Nai)")
    mode: str = Field("province", description="province (one province, the default) or national (all 34 provinces, "
                                              "province -> commune drill-down with ?tinh=NN)")
    national_backfill_days: int = Field(31, ge=1, le=3650, description="In national mode, days the first start backfills "
                                        "(ending today, never before history_start): all 3,321 communes x 510 days would be ~14M rows")
    provinces_boundaries_path: Path | None = Field(None, description="Province outlines for the national map (GeoJSON/"
                                                   "GeoPackage/Shapefile); none = approximate outlines from the communes")
    provinces_code_column: str = Field("province_code", description="Column of provinces_boundaries_path holding the province code")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite file under ./data")
    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Where the embedded SQLite file and caches live")
    collection_interval_s: int = Field(300, ge=10, le=86_400, description="Seconds between collection runs")
    host: str = Field("127.0.0.1", description="Address the web app listens on")
    port: int = Field(8050, ge=1, le=65_535, description="Port the web app listens on")
    history_start: dt.date = Field(dt.date(2025, 7, 1), description="First day of history to backfill")
    simulator_seed: int = Field(2025, description="Seed of the simulated commune feeds")
    boundaries_path: Path | None = Field(None, description="Boundaries file (GeoJSON/GeoPackage/Shapefile)")
    boundaries_code_column: str = Field("ward_code", description="Column of the boundaries file holding unit codes")
    boundaries_attribution: str = Field("", description="Credit line shown under maps drawn from boundaries_path")
    stale_after_s: int = Field(3 * 3600, ge=60, description="A unit without a successful collection for longer is stale")
    max_unit_failures_logged: int = Field(5, ge=0, description="Failing units named in one log line")
    language: str = Field("vi", pattern="^(vi|en)$", description="Default interface language")
    source: dict[str, Any] = Field(
        default_factory=lambda: {"type": "simulator"},
        description="Where the collector reads daily commune figures: {type: simulator}, "
                    "{type: http_json, name, url, params, field_map, auth, secret, ...} or {type: sql, name, url, query, field_map}")
    health: HealthConfig = Field(default_factory=HealthConfig, description="System-health probes: systems, commune URL templates, recipes, thresholds")
    service_index: ServiceIndexConfig = Field(default_factory=ServiceIndexConfig, description="Service index (766 groups): weights, saturation thresholds, grade bands, missing-data rule")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Overview alerts: KPI and threshold for communes falling behind, consecutive days, list length")
    # Access control (access/, dashboards/auth.py). Empty secret_key: generated once into data_dir/secret_key (0600).
    auth_enabled: bool = Field(True, description="Require a login for every page, callback and download (False only for tests and closed demos)")
    secret_key: SecretStr = Field(SecretStr(""), description="Key that signs session cookies; empty = generated once and kept in data_dir/secret_key")
    session_lifetime_s: int = Field(8 * 3600, ge=60, le=30 * 86_400, description="Seconds a login stays valid")
    login_max_failures: int = Field(5, ge=1, le=100, description="Wrong passwords within login_window_s that lock an account")
    login_window_s: int = Field(60, ge=1, le=86_400, description="Window (seconds) in which login failures are counted")
    lockout_s: int = Field(900, ge=1, le=86_400, description="Seconds an account stays locked after too many failures")
    secure_cookies: bool = Field(False, description="Mark the session cookie Secure (set True when served over https)")
    sso_header: str = Field("", description="Reverse-proxy header carrying the authenticated user name (empty = single sign-on off)")
    sso_trusted_proxies: tuple[str, ...] = Field((), description="IP addresses or networks of the proxies whose sso_header is trusted")
    redis_url: str = Field("", description="Redis URL (redis:// or rediss://) of the cache shared by all web workers; empty = a cache per worker")

    @field_validator("mode", mode="before")
    @classmethod
    def _check_mode(cls, value: Any) -> str:
        text = str(value).strip().lower()
        if text not in MODES:
            raise ValueError(f"must be one of {', '.join(MODES)} (province: one province; national: all 34)")
        return text

    @property
    def national(self) -> bool:
        """True in national mode: every province, chosen per request (dashboards.scope_url)."""
        return self.mode == "national"

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis:// or rediss://, e.g. redis://127.0.0.1:6379/0 (or be empty)")
        return value

    @field_validator("sso_trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network; write e.g. 10.0.0.5 or 10.0.0.0/24") from None
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (or empty to generate one); "
                             "create one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
        return value

    @field_validator("province_code", mode="before")
    @classmethod
    def _normalise_province(cls, value: Any) -> str:
        text = str(value).strip()
        if not text.isdigit() or len(text) > 2:
            raise ValueError("must be a two-digit province code such as 75")
        return text.zfill(2)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        try:
            url = make_url(value)
        except ArgumentError as err:
            raise ValueError(
                f"is not a valid SQLAlchemy URL ({err}); write e.g. "
                "postgresql+psycopg://user@host:5432/db or sqlite:///data/ioc.db"
            ) from None
        if url.get_backend_name() not in SUPPORTED_DB_BACKENDS:
            raise ValueError(
                f"uses backend {url.get_backend_name()!r}; supported: {', '.join(SUPPORTED_DB_BACKENDS)}"
            )
        return value

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'ioc.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: explicit arguments, then IOC_* env, then the config file.
        return (init_settings, env_settings, *_file_sources(settings_cls))


def _file_sources(settings_cls: type[BaseSettings]) -> tuple[PydanticBaseSettingsSource, ...]:
    path = _CONFIG_FILE_OVERRIDE.get("path")
    if path is None:
        return ()
    if path.suffix in (".yaml", ".yml"):
        return (YamlConfigSettingsSource(settings_cls, yaml_file=path),)
    return (TomlConfigSettingsSource(settings_cls, toml_file=path),)


_CONFIG_FILE_OVERRIDE: dict[str, Path | None] = {"path": None}


def load_settings(config_file: str | Path | None = None, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, a config file and IOC_* variables; raise ConfigError on bad input."""
    environ = os.environ if environ is None else environ
    path = config_file or environ.get(CONFIG_FILE_ENV)
    path = Path(path) if path else None
    if path is not None and (not path.is_file() or path.suffix not in (".yaml", ".yml", ".toml")):
        raise ConfigError(f"Config file {path} must be an existing .yaml, .yml or .toml file")
    _CONFIG_FILE_OVERRIDE["path"] = path
    saved = _swap_environ(environ)
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None
    except Exception as err:  # a broken YAML/TOML file: say which file
        raise ConfigError(f"Cannot read config file {path}: {err}") from None
    finally:
        _swap_environ(saved)
        _CONFIG_FILE_OVERRIDE["path"] = None


def _swap_environ(environ: dict[str, str]) -> dict[str, str]:
    """Let tests pass an environment explicitly without touching the real one for long."""
    if environ is os.environ:
        return os.environ
    saved = {k: v for k, v in os.environ.items() if k.startswith("IOC_")}
    for key in saved:
        del os.environ[key]
    os.environ.update({k: v for k, v in environ.items() if k.startswith("IOC_")})
    return saved


def _describe(err: ValidationError) -> str:
    lines = []
    for problem in err.errors():
        name = ".".join(str(p) for p in problem["loc"]) or "settings"
        field = Settings.model_fields.get(name)
        hint = f" ({field.description})" if field and field.description else ""
        env_name = f"IOC_{str(problem['loc'][0]).upper()}" if problem["loc"] else "IOC_*"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(Settings.model_fields))
            lines.append(f"Unknown setting {name!r}; allowed settings: {allowed}")
        else:
            got = "(hidden)" if field and field.annotation is SecretStr else repr(problem.get("input"))
            lines.append(f"Setting {name} / {env_name}{hint}: {message}; got {got}")
    return "Invalid configuration:\n  " + "\n  ".join(lines)
