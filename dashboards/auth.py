"""Login at the Flask level: the guard in front of every route, login/logout/change-password pages, CSRF.

`install(app, settings, engine, now)` (called once by dashboards.app.create_app) wires it all:

- Sessions are Flask's signed cookies (key: access.secret.session_secret), HttpOnly, SameSite=Lax,
  Secure when `secure_cookies` is set. The cookie holds the user id, the account's session epoch,
  the login time and a CSRF token. Every request re-reads the account, so disabling it, resetting
  or changing its password (each bumps the epoch) ends its sessions at once; a login older than
  `session_lifetime_s` by the app's clock is refused. A forged or tampered cookie fails the signature.
- The guard runs before Dash's own hooks and denies by default: only Dash's JS/CSS bundles,
  /assets, the favicon and the login/logout pages are public. Without a login, pages redirect to
  /login; callbacks (/_dash-*), map geometry (/geo/*), downloads and exports get a 401 JSON.
  Logged-in requests carry their access.scope.Scope on flask.g (access.scope.current_scope()).
- CSRF: the HTML forms (login, change password, logout) carry a token kept in the session. Dash
  callbacks are JSON POSTs: a cross-site page cannot send application/json without a CORS
  preflight (which this app never grants), the SameSite=Lax cookie is not sent on cross-site
  POSTs, and on top of both the guard requires an Origin (or Referer) naming this host on every
  state-changing request that is not a token-carrying form.
- access.scope.OutOfScope (and the data layer's store.scoped.OutOfScopeError) anywhere in a
  request becomes HTTP 403. Pages whose path names a unit (register_page(..., scope_check=f)) are
  checked here too, so /commune/<other> is refused before any HTML is served.
- Request bodies are capped (MAX_CONTENT_LENGTH): larger ones get 413 before any parsing.
"""
from __future__ import annotations

import datetime as dt
import secrets
import re
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlencode, urlsplit

from flask import Response, g, jsonify, redirect, request, session
from markupsafe import escape

from access import audit
from access.scope import (
    DEFAULT_SCOPE_KEY, ROLE_LABELS, configured_province, empty_scope, open_scope, set_current_scope,
)
from access.secret import session_secret
from access.sso import trusted_username
from store.scoped import OutOfScopeError
from access.users import LoginPolicy, User, UserError, authenticate, change_password, get_user, get_user_by_id

EXTENSION_KEY = "ioc_auth"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
FORM_PATHS = ("login", "logout", "change-password")   # carry their own CSRF token
PUBLIC_PREFIXES = ("_dash-component-suites/", "assets/", "static/", "_favicon.ico", "login", "logout")
API_PREFIXES = ("_dash-", "geo/", "download", "export/", "api/")  # "export/": the /export page itself redirects
MAX_BODY_BYTES = 2 * 1024 * 1024   # callbacks and forms are small; anything bigger is refused with 413

STRINGS: dict[str, tuple[str, str]] = {
    "title": ("Đăng nhập — Trung tâm điều hành thông minh", "Sign in — Intelligent Operations Centre"),
    "heading": ("Đăng nhập", "Sign in"),
    "username": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "submit": ("Đăng nhập", "Sign in"),
    "other_language": ("English", "Tiếng Việt"),
    "bad_credentials": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong user name or password."),
    "locked": ("Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau {minutes} phút.",
               "Account temporarily locked after too many wrong passwords. Try again in {minutes} minutes."),
    "rate_limited": ("Quá nhiều lần đăng nhập không thành công từ địa chỉ này. Vui lòng thử lại sau.",
                     "Too many failed sign-ins from this address. Please try again later."),
    "disabled": ("Tài khoản đã bị vô hiệu hóa. Liên hệ quản trị hệ thống.",
                 "This account is disabled. Contact the administrator."),
    "csrf": ("Phiên biểu mẫu đã hết hạn. Vui lòng tải lại trang và thử lại.",
             "The form has expired. Reload the page and try again."),
    "expired": ("Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại.", "Your session has expired. Please sign in again."),
    "logged_out": ("Bạn đã đăng xuất.", "You have signed out."),
    "change_title": ("Đổi mật khẩu", "Change password"),
    "change_intro": ("Xin chào {name} ({role}). Vui lòng đặt mật khẩu mới.", "Hello {name} ({role}). Please set a new password."),
    "current": ("Mật khẩu hiện tại", "Current password"),
    "new": ("Mật khẩu mới (ít nhất 10 ký tự)", "New password (at least 10 characters)"),
    "confirm": ("Nhập lại mật khẩu mới", "Repeat the new password"),
    "change_submit": ("Đổi mật khẩu", "Change password"),
    "logout": ("Đăng xuất", "Sign out"),
    "wrong_current": ("Mật khẩu hiện tại không đúng.", "The current password is wrong."),
    "mismatch": ("Hai lần nhập mật khẩu mới không khớp.", "The two new passwords differ."),
    "too_short": ("Mật khẩu mới phải có ít nhất 10 ký tự.", "The new password needs at least 10 characters."),
    "too_simple": ("Mật khẩu mới quá đơn giản.", "The new password is too simple."),
    "contains_username": ("Mật khẩu mới không được chứa tên đăng nhập.", "The new password must not contain the user name."),
    "same_as_before": ("Mật khẩu mới phải khác mật khẩu cũ.", "The new password must differ from the old one."),
    "account_gone": ("Tài khoản không còn hiệu lực.", "This account is no longer active."),
    "forbidden": ("Bạn không có quyền xem nội dung này.", "You may not see this content."),
}


@dataclass(frozen=True)
class AuthState:
    settings: object
    engine: object
    now: Callable[[], dt.datetime]
    policy: LoginPolicy
    prefix: str          # Dash's routes_pathname_prefix, e.g. "/"


def install(app, settings, engine, now: Callable[[], dt.datetime] = dt.datetime.now) -> None:
    """Protect a Dash app: session cookie settings, the guard, the login pages and the 403 handler."""
    server = app.server
    server.secret_key = session_secret(settings)
    server.config.update(
        SESSION_COOKIE_NAME="ioc_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.secure_cookies),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=settings.session_lifetime_s),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    state = AuthState(settings, engine, now, LoginPolicy.from_settings(settings), app.config.routes_pathname_prefix)
    server.extensions[EXTENSION_KEY] = state
    server.register_error_handler(OutOfScopeError, _forbidden)  # OutOfScope is a subclass
    server.register_error_handler(ValueError, _bad_input)
    hooks = server.before_request_funcs.setdefault(None, [])
    if settings.auth_enabled:
        _register_user_box(app)
    _prime_first_request_hooks(server, hooks, settings.province_code)  # national mode: scope_url adds the nation's ids
    if not settings.auth_enabled:
        server.extensions[DEFAULT_SCOPE_KEY] = open_scope(configured_province(settings))
        return
    hooks.insert(0, _guard)  # before Dash's own hooks: nothing runs for a request we refuse
    server.after_request(_security_headers)
    for name, view in (("login", login_view), ("logout", logout_view), ("change-password", change_password_view)):
        server.add_url_rule(state.prefix + name, endpoint=f"ioc_auth_{name}", view_func=view, methods=["GET", "POST"])


def _prime_first_request_hooks(server, hooks, province_code: str) -> None:
    """Run Dash's once-only first-request hooks now, under a scope that sees nothing.

    With pages, Dash's first request calls every page's layout() to build the validation layout,
    which it then embeds in every index page it serves. Built inside a real first request, it would
    carry whatever the first visitor's scope let the layouts load (or fail on a public request
    that has no scope); built here, it carries no unit's data and belongs to nobody.
    """
    with server.test_request_context(server.config.get("APPLICATION_ROOT") or "/"):
        set_current_scope(empty_scope(province_code))
        for hook in list(hooks):
            hook()


def _register_user_box(app) -> None:
    """Fill the header's user box (components.shell: id app-user) with the name, role and a logout link."""
    from dash import Input, Output, html

    from dashboards.i18n import lang_from_search, t

    @app.callback(Output("app-user", "children"), Input("app-url", "pathname"), Input("app-url", "search"))
    def update_user_box(_pathname, search):
        user, lang = current_user(), lang_from_search(search)
        if user is None:
            return None
        role = ROLE_LABELS.get(user.role, (user.role, user.role))[0 if lang == "vi" else 1]
        # Plain text children: React escapes them, so a name with markup shows as text.
        return [html.Span(t("user_signed_in_as", lang, name=user.display_name), className="user-name"),
                html.Span(f" · {role} · ", className="user-role"),
                html.A(t("user_logout", lang), href=_url(_state(), "logout"), className="user-logout",
                       id="app-logout")]


def current_user() -> User | None:
    """The logged-in account of this request (None when authentication is off or nobody is logged in)."""
    return g.get("ioc_user")


# --- the guard --------------------------------------------------------------------------------

def _state() -> AuthState:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]


def _route(state: AuthState) -> str:
    """The request path relative to the app's prefix ("" for the index)."""
    return request.path[len(state.prefix):] if request.path.startswith(state.prefix) else request.path.lstrip("/")


def _guard():
    state = _state()
    route = _route(state)
    if route.startswith(PUBLIC_PREFIXES):
        return None
    user = _identify(state)
    if user is None:
        return _unauthenticated(state, route)
    if request.method not in SAFE_METHODS and route not in FORM_PATHS and not _same_origin():
        return _json(403, "cross-site request refused: Origin or Referer must name this host")
    # Behind single sign-on the proxy owns the password: no forced change here.
    if user.must_change_password and route != "change-password" and not g.get("ioc_via_sso"):
        if _is_api(route) or request.method not in SAFE_METHODS:
            return _json(403, "password change required", login=_url(state, "change-password"))
        return redirect(_url(state, "change-password", next=_here()))
    g.ioc_user = user
    set_current_scope(user.scope(configured_province(state.settings)))
    _check_page_scope(route)
    return None


def _check_page_scope(route: str) -> None:
    """Refuse (OutOfScope -> 403) a page whose path names something outside the caller's scope."""
    import dash

    for page in dash.page_registry.values():
        check, template = page.get("scope_check"), page.get("path_template") or page.get("path")
        if check is None or not template:
            continue
        values = match_path_template(template, "/" + route)
        if values is not None:
            check(**values)


def match_path_template(template: str, path: str) -> dict[str, str] | None:
    """The variables of a Dash path template ("/commune/<code>") in a path, or None when it does not match."""
    pattern = re.sub(r"<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>[^/]*)", re.escape(template).replace(r"\<", "<")
                     .replace(r"\>", ">"))
    found = re.fullmatch(pattern, path.rstrip("/") or "/")
    return None if found is None else found.groupdict()


def _identify(state: AuthState) -> User | None:
    """The account behind this request: the trusted proxy's header, else a valid session cookie."""
    sso_name = trusted_username(state.settings, request.remote_addr, request.headers)
    if sso_name is not None:
        g.ioc_via_sso = True
        user = get_user(state.engine, sso_name)
        return user if user is not None and not user.disabled else None
    if "uid" not in session:
        return None
    user = get_user_by_id(state.engine, session["uid"])
    if user is None or user.disabled or user.session_epoch != session.get("epoch") or _expired(state):
        g.ioc_session_expired = user is not None and not user.disabled and _expired(state)
        session.clear()
        return None
    return user


def _expired(state: AuthState) -> bool:
    try:
        issued = dt.datetime.fromisoformat(session.get("iat", ""))
    except (TypeError, ValueError):
        return True
    age = (state.now() - issued).total_seconds()
    return age < -60 or age > state.settings.session_lifetime_s  # a login "from the future" is forged


def _unauthenticated(state: AuthState, route: str):
    if _is_api(route) or request.method not in SAFE_METHODS:
        return _json(401, "authentication required", login=_url(state, "login"))
    query = {"next": _here()}
    if g.get("ioc_session_expired"):
        query["expired"] = "1"
    return redirect(_url(state, "login", **query))


def _is_api(route: str) -> bool:
    return route.startswith(API_PREFIXES)


def _same_origin() -> bool:
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return bool(source) and source != "null" and urlsplit(source).netloc.lower() == request.host.lower()


def _forbidden(error: OutOfScopeError):
    state = _state()
    user = current_user()
    if user is not None:
        audit.record(state.engine, state.now(), user.username, "forbidden", request.path[:200],
                     {"reason": str(error)}, request.remote_addr or "")
    if _is_api(_route(state)):
        return _json(403, "outside your access scope")
    lang = _lang(state)
    return Response(_page(lang, _text("forbidden", lang), f"<p>{escape(_text('forbidden', lang))}</p>"), 403,
                    mimetype="text/html")


def _bad_input(error: ValueError):
    """A callback or data route fed values it cannot read answers 400 saying why, never 500.

    Callback arguments come straight from the client; the readers and parsers signal bad values with
    ValueError (dates, codes, grains, ...). Pages keep Flask's 500 for anything else.
    """
    from flask import current_app

    if not _is_api(_route(_state())):
        raise error
    current_app.logger.warning("bad input on %s: %s", request.path, error)
    return _json(400, f"bad request: {str(error)[:300]}")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if current_user() is not None:
        # Data behind a login must never sit in a shared cache for the next, anonymous, visitor.
        response.cache_control.public = False
        response.cache_control.private = True
        response.vary.add("Cookie")
    return response


# --- pages ------------------------------------------------------------------------------------

def login_view():
    """GET: the login form; POST: check the credentials (CSRF token, rate limit, lockout)."""
    state = _state()
    lang = _lang(state)
    target = _safe_next(state, request.values.get("next"))
    if request.method == "GET":
        message = "expired" if request.args.get("expired") else "logged_out" if request.args.get("logged_out") else None
        return _login_page(state, lang, target, "", message, 200)
    username = request.form.get("username", "")
    if not _csrf_ok():
        return _login_page(state, lang, target, username, "csrf", 400)
    result = authenticate(state.engine, state.now(), username, request.form.get("password", ""),
                          request.remote_addr or "", state.policy)
    if not result.ok:
        status = {"locked": 429, "rate_limited": 429, "disabled": 403}.get(result.reason, 401)
        return _login_page(state, lang, target, username, result.reason, status)
    _start_session(state, result.user)
    if result.user.must_change_password:
        return redirect(_url(state, "change-password", next=target))
    return redirect(target)


def logout_view():
    """End the session (GET or POST) and go back to the login page."""
    state = _state()
    user = get_user_by_id(state.engine, session["uid"]) if "uid" in session else None
    if user is not None:
        audit.record(state.engine, state.now(), user.username, "logout", user.username, ip=request.remote_addr or "")
    session.clear()
    return redirect(_url(state, "login", logged_out="1"))


def change_password_view():
    """The change-password form (forced after a one-time password); success starts a fresh session."""
    state = _state()
    user, lang = current_user(), _lang(state)
    target = _safe_next(state, request.values.get("next"))
    if request.method == "GET":
        return _change_page(state, lang, user, target, None, 200)
    if not _csrf_ok():
        return _change_page(state, lang, user, target, "csrf", 400)
    new = request.form.get("new", "")
    if new != request.form.get("confirm", ""):
        return _change_page(state, lang, user, target, "mismatch", 400)
    try:
        user = change_password(state.engine, state.now(), user.id, request.form.get("current", ""), new,
                               request.remote_addr or "")
    except UserError as err:
        return _change_page(state, lang, user, target, str(err), 400)
    _start_session(state, user)
    return redirect(target)


def _start_session(state: AuthState, user: User) -> None:
    session.clear()  # nothing from before the login survives it
    session.permanent = True
    session.update(uid=user.id, epoch=user.session_epoch, iat=state.now().isoformat(), csrf=secrets.token_urlsafe(32))


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _csrf_ok() -> bool:
    sent, kept = request.form.get("csrf_token", ""), session.get("csrf", "")
    return bool(kept) and secrets.compare_digest(sent.encode(), kept.encode())


def _login_page(state, lang, target, username, message, status) -> Response:
    minutes = max(1, state.settings.lockout_s // 60)
    notice = f'<p class="msg" role="alert">{escape(_text(message, lang, minutes=minutes))}</p>' if message else ""
    other = "en" if lang == "vi" else "vi"
    body = f"""{notice}
<form method="post" action="{escape(_url(state, 'login', lang=lang))}">
<input type="hidden" name="csrf_token" value="{escape(_csrf_token())}">
<input type="hidden" name="next" value="{escape(target)}">
<label>{escape(_text('username', lang))}<input name="username" value="{escape(username)}" autocomplete="username" required autofocus></label>
<label>{escape(_text('password', lang))}<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">{escape(_text('submit', lang))}</button>
</form>
<p><a href="{escape(_url(state, 'login', lang=other, next=target))}">{escape(_text('other_language', lang))}</a></p>"""
    return _html(_page(lang, _text("heading", lang), body), status)


def _change_page(state, lang, user, target, message, status) -> Response:
    role = ROLE_LABELS.get(user.role, (user.role, user.role))[0 if lang == "vi" else 1]
    intro = _text("change_intro", lang, name=user.display_name, role=role)
    notice = f'<p class="msg" role="alert">{escape(_text(message, lang))}</p>' if message else ""
    fields = "".join(f'<label>{escape(_text(name, lang))}<input name="{name}" type="password" '
                     f'autocomplete="{"current-password" if name == "current" else "new-password"}" required></label>'
                     for name in ("current", "new", "confirm"))
    body = f"""<p>{escape(intro)}</p>{notice}
<form method="post" action="{escape(_url(state, 'change-password', lang=lang))}">
<input type="hidden" name="csrf_token" value="{escape(_csrf_token())}">
<input type="hidden" name="next" value="{escape(target)}">{fields}
<button type="submit">{escape(_text('change_submit', lang))}</button>
</form>
<p><a href="{escape(_url(state, 'logout'))}">{escape(_text('logout', lang))}</a></p>"""
    return _html(_page(lang, _text("change_title", lang), body), status)


STYLE = ("body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0}main{max-width:26rem;margin:8vh auto;"
         "background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}label{display:block;margin:.8rem 0}"
         "input{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin-top:.3rem}"
         "button{padding:.6rem 1.2rem;margin-top:.6rem}.msg{color:#a4000f}")


def _page(lang: str, heading: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(_text('title', lang))}</title><style>{STYLE}</style></head>"
            f"<body><main><h1>{escape(heading)}</h1>{body}</main></body></html>")


def _html(text: str, status: int) -> Response:
    response = Response(text, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    # No script at all on these pages: even a missed escape could not run anything.
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return response


def _text(key: str, lang: str, **values) -> str:
    vi, en = STRINGS.get(key, (key, key))
    return (vi if lang == "vi" else en).format(**values)


def _lang(state: AuthState) -> str:
    lang = request.values.get("lang") or state.settings.language
    return lang if lang in ("vi", "en") else "vi"


def _url(state: AuthState, route: str, **query) -> str:
    return state.prefix + route + ("?" + urlencode(query) if query else "")


def _here() -> str:
    return request.full_path.rstrip("?")


def _safe_next(state: AuthState, target: str | None) -> str:
    """A local path to return to after login; anything else (other hosts, //, backslashes) goes home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return state.prefix
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith(state.prefix + "login"):
        return state.prefix
    return target


def _json(status: int, message: str, **extra) -> Response:
    response = jsonify(error=message, **extra)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
