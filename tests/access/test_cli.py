"""`python app.py users ...` as an operator runs it: a subprocess on a temporary data directory."""
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from access import audit
from access.users import authenticate, get_user
from store.access_schema import users
from store.db import create_store_engine

ROOT = Path(__file__).resolve().parents[2]


def _users(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")} | {"IOC_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "app.py", "users", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_users_command_manages_accounts(tmp_path):
    added = _users(tmp_path, "add", "NguyenVanA", "--role", "chair", "--unit", "25195", "--name", "Nguyễn Văn A")
    assert added.returncode == 0, added.stderr
    assert "added nguyenvana (chair, 25195)" in added.stdout
    one_time = re.search(r"must be changed at first login\): (\S+)$", added.stdout.strip()).group(1)
    chosen = _users(tmp_path, "add", "phantich", "--role", "analyst", "--password-stdin", stdin="Số-liệu-2025-ok\n")
    assert chosen.returncode == 0 and "one-time" not in chosen.stdout
    refused = _users(tmp_path, "add", "chutich2", "--role", "chair", "--unit", "00004")
    assert refused.returncode == 2 and "not a commune, ward or special zone of province 75" in refused.stderr
    assert _users(tmp_path, "disable", "phantich").stdout.strip() == "phantich: disabled; existing sessions ended"
    reset = _users(tmp_path, "reset-password", "nguyenvana")
    new_one_time = re.search(r"at first login\): (\S+)$", reset.stdout.strip()).group(1)
    listing = _users(tmp_path, "list").stdout.splitlines()
    assert listing[0].split() == ["username", "role", "unit", "status", "last", "login", "display", "name"]
    assert listing[1].split()[:4] == ["nguyenvana", "chair", "25195", "must-change-password"]
    assert listing[1].endswith("Nguyễn Văn A")
    assert listing[2].split()[:4] == ["phantich", "analyst", "-", "disabled"]
    missing = _users(tmp_path, "disable")
    assert missing.returncode == 2 and "needs a user name" in missing.stderr

    engine = create_store_engine(f"sqlite:///{tmp_path / 'ioc.db'}")
    with engine.connect() as connection:
        hashes = connection.execute(select(users.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$v=19$m=65536,t=3,p=4$") for h in hashes)
    assert not any(secret in h for h in hashes for secret in (one_time, new_one_time, "Số-liệu-2025-ok"))
    now = dt.datetime(2025, 9, 1, 8, 0)
    assert not authenticate(engine, now, "nguyenvana", one_time, "127.0.0.1").ok
    assert authenticate(engine, now, "nguyenvana", new_one_time, "127.0.0.1").ok
    assert authenticate(engine, now, "phantich", "Số-liệu-2025-ok", "127.0.0.1").reason == "disabled"
    assert get_user(engine, "nguyenvana").display_name == "Nguyễn Văn A"
    cli_actions = list(audit.list_events(engine, actor="cli").action)[::-1]
    assert cli_actions == ["user_add", "user_add", "user_disable", "user_reset_password"]
    engine.dispose()
