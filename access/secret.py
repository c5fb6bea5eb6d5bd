"""The key that signs session cookies: configured, or generated once and shared through data_dir."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

FILE_NAME = "secret_key"


def session_secret(settings) -> str:
    """The configured secret_key, else the one kept in data_dir/secret_key (created 0600 on first use).

    All gunicorn workers and restarts read the same file, so a cookie signed by one worker is
    valid in every other. The key is written to a private temporary file and hard-linked into
    place, which fails if the file exists: when workers race, the first one wins and nobody ever
    reads a half-written key.
    """
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured
    path = Path(settings.data_dir) / FILE_NAME
    if not path.exists():
        _create(path)
    text = path.read_text().strip()
    if len(text) < 32:
        raise RuntimeError(f"{path} holds no usable key (fewer than 32 characters); delete it to generate a new one")
    return text


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
