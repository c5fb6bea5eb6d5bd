"""Password hashing (argon2id), one-time passwords and the password rule."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
# Unambiguous characters only: one-time passwords are read off a terminal and typed by hand.
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
# RFC 9106 low-memory profile: argon2id, t=3, m=64 MiB, p=4. "dummy" is verified against for
# unknown user names, so that a wrong name costs as long as a wrong password.
DEFAULT_HASHER = PasswordHasher()
_STATE: dict = {"hasher": DEFAULT_HASHER, "dummy": None}


def configure_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Use other argon2 parameters (tests use cheap ones); return the previous hasher."""
    previous = _STATE["hasher"]
    _STATE.update(hasher=hasher, dummy=None)
    return previous


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password (salted; the password itself is never stored)."""
    return _STATE["hasher"].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash; False for a missing or malformed hash."""
    if _STATE["dummy"] is None:
        _STATE["dummy"] = _STATE["hasher"].hash(secrets.token_urlsafe(16))
    try:
        return _STATE["hasher"].verify(password_hash or _STATE["dummy"], password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's."""
    return _STATE["hasher"].check_needs_rehash(password_hash)


def one_time_password(length: int = 14) -> str:
    """A random password to hand out once; the user must change it at first login."""
    return "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(length))


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is not acceptable (an English key for the UI), or None when it is."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if username and username.lower() in password.lower():
        return "contains_username"
    if len(set(password)) < 4:
        return "too_simple"
    return None
