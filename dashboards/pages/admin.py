"""Administration room (/admin): accounts, the audit log and maintenance windows. Administrators only.

The layout is a skeleton without data (Dash builds it for its validation layout too); every
callback asks access.admin, which checks the caller's scope on the server (require_admin) before
reading or changing anything and audits each change. Names are rendered as text, never as HTML.
"""
from __future__ import annotations

import datetime as dt
import json

import dash
from dash import Input, Output, State, callback, ctx, dcc, html

from access import admin
from access.audit import ACTIONS
from access.scope import ROLE_LABELS, ROLES, current_reader, current_scope
from access.users import UserError, list_users
from dashboards import context, loaders
from dashboards import loaders_systems
from dashboards.format import format_datetime
from dashboards.i18n import normalise_lang, t

dash.register_page(__name__, path="/admin", name="Quản trị", title="Quản trị — IOC", order=95, nav_key="nav_admin",
                   roles=("admin",), scope_check=lambda: current_scope().require_admin())

PREFIX = "admin"
LANG = f"{PREFIX}-lang"
USERS, USER_SELECT, USER_MESSAGE = f"{PREFIX}-users", f"{PREFIX}-user-select", f"{PREFIX}-user-message"
NEW_NAME, NEW_DISPLAY, NEW_ROLE, NEW_UNIT = (f"{PREFIX}-new-name", f"{PREFIX}-new-display", f"{PREFIX}-new-role",
                                             f"{PREFIX}-new-unit")
ADD, DISABLE, ENABLE, RESET = f"{PREFIX}-add", f"{PREFIX}-disable", f"{PREFIX}-enable", f"{PREFIX}-reset"
AUDIT, AUDIT_ACTOR, AUDIT_ACTION, AUDIT_PERIOD, AUDIT_NOTE = (
    f"{PREFIX}-audit", f"{PREFIX}-audit-actor", f"{PREFIX}-audit-action", f"{PREFIX}-audit-period",
    f"{PREFIX}-audit-note")
MAINT, MAINT_SCOPE, MAINT_START, MAINT_END, MAINT_NOTE = (
    f"{PREFIX}-maint", f"{PREFIX}-maint-scope", f"{PREFIX}-maint-start", f"{PREFIX}-maint-end", f"{PREFIX}-maint-note")
MAINT_ADD, MAINT_SELECT, MAINT_DELETE, MAINT_MESSAGE = (
    f"{PREFIX}-maint-add", f"{PREFIX}-maint-select", f"{PREFIX}-maint-delete", f"{PREFIX}-maint-message")
AUDIT_LIMIT = 200
TIME_FORMAT = "%Y-%m-%d %H:%M"


def layout(lang: str | None = None, **_query) -> html.Div:
    """Render the room's controls; the callbacks fill in accounts, events and windows for administrators."""
    lang = normalise_lang(lang)
    app = context.current()
    return html.Div(className="room room-admin", children=[
        dcc.Store(id=LANG, data=lang),
        html.Div(className="toolbar", children=[html.H2(t("admin_page", lang))]),
        _users_card(lang, app), _audit_card(lang), _maintenance_card(lang, app),
    ])


def _users_card(lang: str, app) -> html.Section:
    roles = [{"label": ROLE_LABELS[r][0 if lang == "vi" else 1], "value": r} for r in ROLES]
    units = loaders.units(_reader(app), app.province_code)
    communes = units[units["level"] == "xa"].sort_values("name")
    return html.Section(className="card", children=[
        html.H3(t("admin_users_title", lang)), html.Div(id=USERS),
        html.H4(t("admin_add_title", lang)),
        html.Div(className="toolbar", children=[
            dcc.Input(id=NEW_NAME, type="text", placeholder=t("admin_username_placeholder", lang), maxLength=64),
            dcc.Input(id=NEW_DISPLAY, type="text", placeholder=t("admin_display_placeholder", lang), maxLength=200),
            dcc.Dropdown(id=NEW_ROLE, options=roles, placeholder=t("admin_col_role", lang), style={"minWidth": "14rem"}),
            dcc.Dropdown(id=NEW_UNIT, options=[{"label": f"{r.name} ({r.code})", "value": r.code}
                                               for r in communes.itertuples()],
                         placeholder=t("admin_unit_placeholder", lang), style={"minWidth": "18rem"}),
            html.Button(t("admin_add", lang), id=ADD, n_clicks=0, className="preset"),
        ]),
        html.Div(className="toolbar", children=[
            dcc.Dropdown(id=USER_SELECT, placeholder=t("admin_select_user", lang), style={"minWidth": "16rem"}),
            html.Button(t("admin_disable", lang), id=DISABLE, n_clicks=0, className="preset"),
            html.Button(t("admin_enable", lang), id=ENABLE, n_clicks=0, className="preset"),
            html.Button(t("admin_reset", lang), id=RESET, n_clicks=0, className="preset"),
        ]),
        html.Div(id=USER_MESSAGE, role="status"),
    ])


def _reader(app):
    """The caller's scoped reader: this room reads only unit names, system names and maintenance windows."""
    return current_reader(app.engine)


def _audit_card(lang: str) -> html.Section:
    actions = [{"label": t("admin_audit_all_actions", lang), "value": ""}] + [{"label": a, "value": a} for a in ACTIONS]
    return html.Section(className="card", children=[
        html.H3(t("admin_audit_title", lang)),
        html.Div(className="toolbar", children=[
            dcc.Input(id=AUDIT_ACTOR, type="text", placeholder=t("admin_audit_actor", lang), debounce=True,
                      maxLength=64),
            dcc.Dropdown(id=AUDIT_ACTION, options=actions, value="", clearable=False, style={"minWidth": "14rem"}),
            dcc.DatePickerRange(id=AUDIT_PERIOD, display_format="DD/MM/YYYY", first_day_of_week=1,
                                clearable=True, updatemode="bothdates"),
        ]),
        html.P(id=AUDIT_NOTE, className="muted"), html.Div(id=AUDIT),
    ])


def _maintenance_card(lang: str, app) -> html.Section:
    systems = loaders_systems.system_catalog(_reader(app))
    scopes = [{"label": t("admin_maint_all", lang), "value": "*"}] + [
        {"label": f"{row.name} ({row.code})", "value": row.code} for row in systems.itertuples()]
    return html.Section(className="card", children=[
        html.H3(t("admin_maint_title", lang)), html.Div(id=MAINT),
        html.Div(className="toolbar", children=[
            dcc.Dropdown(id=MAINT_SCOPE, options=scopes, value="*", clearable=False, style={"minWidth": "16rem"}),
            dcc.Input(id=MAINT_START, type="text", placeholder=t("admin_maint_start", lang), maxLength=16),
            dcc.Input(id=MAINT_END, type="text", placeholder=t("admin_maint_end", lang), maxLength=16),
            dcc.Input(id=MAINT_NOTE, type="text", placeholder=t("admin_maint_note", lang), maxLength=500),
            html.Button(t("admin_maint_add", lang), id=MAINT_ADD, n_clicks=0, className="preset"),
        ]),
        html.Div(className="toolbar", children=[
            dcc.Dropdown(id=MAINT_SELECT, placeholder=t("admin_maint_select", lang), style={"minWidth": "12rem"}),
            html.Button(t("admin_maint_delete", lang), id=MAINT_DELETE, n_clicks=0, className="preset"),
        ]),
        html.Div(id=MAINT_MESSAGE, role="status"),
    ])


# --- accounts -------------------------------------------------------------------------------------

@callback(
    Output(USERS, "children"), Output(USER_SELECT, "options"), Output(USER_MESSAGE, "children"),
    Input(ADD, "n_clicks"), Input(DISABLE, "n_clicks"), Input(ENABLE, "n_clicks"), Input(RESET, "n_clicks"),
    State(NEW_NAME, "value"), State(NEW_DISPLAY, "value"), State(NEW_ROLE, "value"), State(NEW_UNIT, "value"),
    State(USER_SELECT, "value"), State(LANG, "data"),
)
def update_users(_add, _disable, _enable, _reset, name, display, role, unit, selected, lang):
    """Carry out the clicked account action (admins only), then list the accounts."""
    app, lang, scope = context.current(), normalise_lang(lang), current_scope()
    scope.require_admin()
    try:
        message = _user_action(ctx.triggered_id, app, scope, name, display, role, unit, selected, lang)
    except UserError as err:
        message = html.P(t("admin_error", lang, error=str(err)), className="freshness-stale")
    accounts = list_users(app.engine)
    options = [{"label": f"{u.username} — {u.display_name}", "value": u.username} for u in accounts]
    return users_table(accounts, app.now(), lang), options, message


def _user_action(trigger, app, scope, name, display, role, unit, selected, lang):
    now = app.now()
    if trigger == ADD:
        user, secret = admin.add_account(app.engine, now, scope, str(name or ""), str(role or ""),
                                         unit_code=str(unit) if unit and role == "chair" else None,
                                         display_name=str(display or ""))
        return _one_time(t("admin_added", lang, user=user.username), secret, lang)
    if trigger not in (DISABLE, ENABLE, RESET):
        return None
    if not selected:
        return html.P(t("admin_choose_user_first", lang))
    if trigger == RESET:
        secret = admin.reset_account_password(app.engine, now, scope, str(selected))
        return _one_time(t("admin_reset_done", lang, user=selected), secret, lang)
    user = admin.set_account_disabled(app.engine, now, scope, str(selected), trigger == DISABLE)
    return html.P(t("admin_disabled" if user.disabled else "admin_enabled", lang, user=user.username))


def _one_time(text: str, secret: str, lang: str) -> html.Div:
    # Shown in this one callback answer only: the password is never stored in clear or shown again.
    return html.Div(className="one-time", children=[
        html.P(text), html.P([t("admin_one_time", lang), " ", html.Code(secret, id=f"{PREFIX}-one-time")])])


def users_table(accounts, now: dt.datetime, lang: str) -> html.Table:
    """The accounts as a table (text cells only)."""
    heads = ["username", "display", "role", "unit", "status", "last_login"]
    rows = [html.Tr([html.Td(u.username), html.Td(u.display_name),
                     html.Td(ROLE_LABELS.get(u.role, (u.role, u.role))[0 if lang == "vi" else 1]),
                     html.Td(u.unit_code or "—"), html.Td(_status(u, now, lang)),
                     html.Td(format_datetime(u.last_login_at, lang) if u.last_login_at else "—")],
                    **{"data-user": u.username}) for u in accounts]
    return html.Table([html.Thead(html.Tr([html.Th(t(f"admin_col_{h}", lang)) for h in heads])), html.Tbody(rows)],
                      className="data-table", id=f"{USERS}-table")


def _status(user, now: dt.datetime, lang: str) -> str:
    if user.disabled:
        return t("admin_status_disabled", lang)
    if user.locked_until is not None and user.locked_until > now:
        return t("admin_status_locked", lang)
    return t("admin_status_must_change" if user.must_change_password else "admin_status_active", lang)


# --- audit log ------------------------------------------------------------------------------------

@callback(
    Output(AUDIT, "children"), Output(AUDIT_NOTE, "children"),
    Input(AUDIT_ACTOR, "value"), Input(AUDIT_ACTION, "value"), Input(AUDIT_PERIOD, "start_date"),
    Input(AUDIT_PERIOD, "end_date"), Input(USER_MESSAGE, "children"), Input(MAINT_MESSAGE, "children"),
    State(LANG, "data"),
)
def update_audit(actor, action, start_date, end_date, _users, _maintenance, lang):
    """List audit events matching the filters, newest first (admins only)."""
    app, lang = context.current(), normalise_lang(lang)
    filters = {"actor": str(actor).strip().lower() or None if actor else None,
               "action": action if action in ACTIONS else None,
               "since": _day(start_date), "until": _day(end_date, next_day=True), "limit": AUDIT_LIMIT}
    events = admin.audit_events(app.engine, current_scope(), **filters)
    if events.empty:
        return html.P(t("admin_audit_empty", lang)), ""
    rows = [html.Tr([html.Td(format_datetime(e.at, lang)), html.Td(e.actor), html.Td(e.action), html.Td(e.target),
                     html.Td(json.dumps(e.detail, ensure_ascii=False, default=str)), html.Td(e.ip)])
            for e in events.itertuples()]
    heads = ["at", "username", "action", "target", "detail", "ip"]
    labels = [t("admin_audit_actor" if h == "username" else "admin_audit_action" if h == "action"
                else f"admin_col_{h}", lang) for h in heads]
    table = html.Table([html.Thead(html.Tr([html.Th(x) for x in labels])), html.Tbody(rows)],
                       className="data-table", id=f"{AUDIT}-table")
    return table, t("admin_audit_shown", lang, count=len(events))


def _day(value, next_day: bool = False) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None  # a malformed date is no filter, never an error page
    if day is None:
        return None
    return dt.datetime.combine(day + dt.timedelta(days=1 if next_day else 0), dt.time())


# --- maintenance windows --------------------------------------------------------------------------

@callback(
    Output(MAINT, "children"), Output(MAINT_SELECT, "options"), Output(MAINT_MESSAGE, "children"),
    Input(MAINT_ADD, "n_clicks"), Input(MAINT_DELETE, "n_clicks"),
    State(MAINT_SCOPE, "value"), State(MAINT_START, "value"), State(MAINT_END, "value"), State(MAINT_NOTE, "value"),
    State(MAINT_SELECT, "value"), State(LANG, "data"),
)
def update_maintenance(_add, _delete, target, start, end, note, selected, lang):
    """Add or delete a maintenance window (admins only), then list the windows."""
    app, lang, scope = context.current(), normalise_lang(lang), current_scope()
    scope.require_admin()
    message = None
    try:
        if ctx.triggered_id == MAINT_ADD:
            window_id = admin.add_maintenance(app.engine, app.now(), scope, target=str(target or "*"),
                                              starts_at=_time(start), ends_at=_time(end), note=str(note or ""))
            message = html.P(t("admin_maint_added", lang, id=window_id))
        elif ctx.triggered_id == MAINT_DELETE and selected is not None:
            admin.delete_maintenance(app.engine, app.now(), scope, int(selected))
            message = html.P(t("admin_maint_deleted", lang, id=int(selected)))
    except (ValueError, TypeError) as err:
        message = html.P(t("admin_error", lang, error=str(err)), className="freshness-stale")
    loaders_systems.clear()  # the systems room shows the calendar: let it see the change now
    windows = loaders_systems.maintenance_windows(_reader(app))
    options = [{"label": f"{w.id} — {w.scope} {w.starts_at:%Y-%m-%d %H:%M}", "value": int(w.id)}
               for w in windows.itertuples()]
    return maintenance_table(windows, lang), options, message


def _time(value) -> dt.datetime:
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        raise ValueError(t("admin_maint_bad_time", "vi") + " / " + t("admin_maint_bad_time", "en")) from None


def maintenance_table(windows, lang: str) -> html.Table | html.P:
    """The maintenance windows as a table."""
    if windows.empty:
        return html.P(t("admin_maint_empty", lang))
    heads = ["id", "scope", "kind", "start", "end", "note"]
    labels = [t(f"admin_col_{h}" if h in ("id", "kind") else f"admin_maint_{h}", lang).split(" (")[0] for h in heads]
    rows = [html.Tr([html.Td(str(w.id)), html.Td(w.scope), html.Td(w.kind), html.Td(f"{w.starts_at:%Y-%m-%d %H:%M}"),
                     html.Td("" if w.ends_at is None or w.ends_at != w.ends_at else f"{w.ends_at:%Y-%m-%d %H:%M}"),
                     html.Td(w.note or "")]) for w in windows.itertuples()]
    return html.Table([html.Thead(html.Tr([html.Th(x) for x in labels])), html.Tbody(rows)],
                      className="data-table", id=f"{MAINT}-table")


__all__ = ["layout", "users_table", "maintenance_table"]
