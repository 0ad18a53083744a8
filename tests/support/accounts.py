"""What tests share to use console accounts: create users in a database, log in through the /login form."""

from __future__ import annotations

import re
from typing import Any

from geo_grid import db

PASSWORD = "correct horse battery"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def create_user(url: str, login: str, role: str, password: str = PASSWORD, **kw: Any) -> int:
    """A console user; `subdistrict=` as for `create_token`, `person_id=`, `name=`."""
    from geo_grid.services import accounts

    engine = db.make_engine(url, pool_size=1)
    try:
        with db.transaction(db.make_session_factory(engine)) as session:
            return accounts.create_user(
                session, login, kw.pop("name", f"测试{login}"), role, password, **kw
            ).id
    finally:
        engine.dispose()


def create_token(url: str, role: str, name: str, **kw: Any) -> str:
    """A token; `subdistrict=` a code, None (district/city level) or, by default, the served subdistrict."""
    from geo_grid.services.auth import create_token as make

    engine = db.make_engine(url, pool_size=1)
    try:
        with db.transaction(db.make_session_factory(engine)) as session:
            return make(session, role, name, **kw)
    finally:
        engine.dispose()


def form_csrf(client: Any) -> str:
    """Open the login page (sets its CSRF cookie) and return the hidden field's token."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    m = _CSRF_FIELD.search(page.text.split('id="login-form"', 1)[-1])  # not the logout form's field
    assert m, page.text
    return m.group(1)


def post_login(client: Any, login: str, password: str = PASSWORD, **headers: str) -> Any:
    """POST /login the way the form does (after opening it); the JSON answer unless headers say otherwise."""
    csrf = form_csrf(client)
    return client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": csrf},
        headers=headers or None,
        follow_redirects=False,
    )


def login(client: Any, login: str, password: str = PASSWORD) -> str:
    """Log in; returns the session's CSRF token (the cookie stays in the client)."""
    r = post_login(client, login, password)
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])
