"""The one error type for configuration that cannot start the application."""


class ConfigError(Exception):
    """Configuration that cannot start the application; the message says what to fix."""
