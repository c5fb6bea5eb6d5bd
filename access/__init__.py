"""Access control: users and roles, argon2 passwords, login lockout, scopes that readers filter by, audit log.

Imports point one way: config <- store <- access <- dashboards, app.py. The Flask side (login
page, session cookie, guard, CSRF) lives in dashboards/auth.py; everything here works without a
web request when given an explicit Scope and clock.
"""
