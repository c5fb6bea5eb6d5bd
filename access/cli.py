"""`python app.py users add|list|disable|enable|reset-password`: manage accounts from a terminal.

One-time passwords are printed once and never stored in clear; the user must change them at
first login. Every change is written to the audit log with actor "cli".
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys

from access.scope import ROLES
from access.users import UserError, add_user, list_users, reset_password, set_disabled

ACTIONS = ("add", "list", "disable", "enable", "reset-password")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the users sub-command's arguments."""
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("username", nargs="?", help="the account (all actions but list)")
    parser.add_argument("--role", choices=ROLES, help="add: leader | chair | analyst | admin")
    parser.add_argument("--unit", help="add --role chair: official code of the chair's commune, e.g. 26734")
    parser.add_argument("--name", default="", help="add: display name, e.g. 'Nguyễn Văn A'")
    parser.add_argument("--password-stdin", action="store_true",
                        help="add: read the password from stdin instead of generating a one-time password")


def run(args: argparse.Namespace, engine, province_code: str, now: dt.datetime | None = None,
        out=sys.stdout, err=sys.stderr) -> int:
    """Carry out one users action; 0 on success, 2 on a request that cannot be honoured."""
    now = now or dt.datetime.now()
    if args.action != "list" and not args.username:
        print(f"users {args.action} needs a user name, e.g. python app.py users {args.action} nguyenvana", file=err)
        return 2
    try:
        if args.action == "list":
            _print_table(list_users(engine), out)
        elif args.action == "add":
            _add(args, engine, province_code, now, out)
        elif args.action in ("disable", "enable"):
            user = set_disabled(engine, now, args.username, args.action == "disable")
            print(f"{user.username}: {'disabled' if user.disabled else 'enabled'}; existing sessions ended", file=out)
        else:
            secret = reset_password(engine, now, args.username)
            print(f"{args.username.strip().lower()}: one-time password (shown once, must be changed at first login): "
                  f"{secret}", file=out)
    except UserError as error:
        print(f"Cannot {args.action} user: {error}", file=err)
        return 2
    return 0


def _add(args, engine, province_code: str, now: dt.datetime, out) -> None:
    if not args.role:
        raise UserError("--role is required: one of " + ", ".join(ROLES))
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    user, secret = add_user(engine, now, province_code, args.username, args.role, unit_code=args.unit,
                            display_name=args.name, password=password)
    print(f"added {user.username} ({user.role}{', ' + user.unit_code if user.unit_code else ''})", file=out)
    if secret:
        print(f"one-time password (shown once, must be changed at first login): {secret}", file=out)


def _print_table(users, out) -> None:
    header = ("username", "role", "unit", "status", "last login", "display name")
    rows = [(u.username, u.role, u.unit_code or "-", _status(u),
             u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-", u.display_name) for u in users]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
    if not rows:
        print("(no accounts yet: python app.py users add NAME --role " + "|".join(ROLES) + ")", file=out)


def _status(user) -> str:
    if user.disabled:
        return "disabled"
    return "must-change-password" if user.must_change_password else "active"
