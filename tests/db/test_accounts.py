"""Console accounts and browser sessions (issue 13, migration 0006_accounts): the `geo-grid user` commands,
login/logout through the /login form, one answer for every wrong login, lockout, idle timeout and absolute
lifetime on the service clock, CSRF on every write made with the cookie, Bearer tokens unchanged, the same
privacy policy for a session as for a token of its role, and every step in the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_grid import clock
from geo_grid.cli import app as cli
from geo_grid.services import accounts
from tests.support.accounts import PASSWORD, create_token, create_user, form_csrf, login, post_login
from tests.support.api import bearer
from tests.support.clock import TEST_NOW
from tests.support.report_helpers import interior_point
from tests.support.sql import query as _query

MICRO = "410105012004003005"
MASKED = re.compile(r"1\d{2}\*{4}\d{4}")


def _audit(url: str, action: str, user_id: int | None = None) -> list[Any]:
    cond = "" if user_id is None else " AND actor_user_id = :uid"
    return _query(url, f"SELECT * FROM audit_log WHERE action = :a{cond} ORDER BY id", a=action, uid=user_id)


@pytest.fixture(scope="module")
def env(db_factory: Callable[[], str], make_client: Callable[..., Any]) -> Iterator[tuple[TestClient, str]]:
    url = db_factory()
    # Rates off: these tests log in many times from one address.
    with make_client(url, rate_anonymous_writes_per_min=0, login_max_failures=3) as client:
        yield client, url


@pytest.fixture
def browser(env: tuple[TestClient, str]) -> TestClient:
    """A fresh cookie jar on the module's app (shares its runtime; no second lifespan)."""
    return TestClient(env[0].app)


@pytest.fixture
def moving_clock() -> Iterator[Callable[[timedelta], None]]:
    """Move the service clock forward; put back to the suite's fixed clock afterwards."""

    def advance(delta: timedelta) -> None:
        clock.configure(clock.now() + delta)

    yield advance
    clock.configure(datetime.fromisoformat(TEST_NOW))


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_create_list_disable_reset(env: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch) -> None:
    client, url = env
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", url)
    runner = CliRunner()
    # The password asked twice, hidden.
    made = runner.invoke(
        cli, ["user", "create", "--login", "cli_admin", "--name", "管理员甲", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    stored = _query(url, "SELECT * FROM users WHERE login = 'cli_admin'")[0]
    assert stored.role == "admin" and stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    person = _query(url, "SELECT id FROM people ORDER BY id LIMIT 1")[0].id
    with_person = runner.invoke(
        cli, ["user", "create", "--login", "cli_worker", "--name", "网格员乙", "--role", "grid_worker",
              "--person", str(person), "--password", PASSWORD],
    )  # fmt: skip
    assert with_person.exit_code == 0, with_person.output
    # Refusals: unknown role, short password, taken login, unknown person.
    for args in (
        ["--login", "x1", "--name", "x", "--role", "emperor", "--password", PASSWORD],
        ["--login", "x2", "--name", "x", "--role", "admin", "--password", "short"],
        ["--login", "cli_admin", "--name", "x", "--role", "admin", "--password", PASSWORD],
        ["--login", "x3", "--name", "x", "--role", "admin", "--person", "999999", "--password", PASSWORD],
    ):
        bad = runner.invoke(cli, ["user", "create", *args])
        assert bad.exit_code == 2, (args, bad.output)
    listed = runner.invoke(cli, ["user", "list"]).output
    assert re.search(r"cli_admin\tadmin\t管理员甲\t\tactive", listed), listed
    assert re.search(rf"cli_worker\tgrid_worker\t网格员乙\t{person}\tactive", listed), listed

    browser = TestClient(client.app)
    assert login(browser, "cli_worker")
    assert browser.get("/session").json()["login"] == "cli_worker"
    # Disabling ends the session at once, and the login is refused like a wrong password.
    assert runner.invoke(cli, ["user", "disable", "cli_worker"]).exit_code == 0
    assert "disabled" in runner.invoke(cli, ["user", "list"]).output
    assert browser.get("/session").json()["authenticated"] is False
    refused = post_login(browser, "cli_worker")
    assert refused.status_code == 401 and refused.json()["code"] == "login_failed"

    # reset-password: the old password stops working, the new one works, sessions end.
    assert login(browser, "cli_admin")
    new = "another long secret"
    reset = runner.invoke(cli, ["user", "reset-password", "cli_admin"], input=f"{new}\n{new}\n")
    assert reset.exit_code == 0, reset.output
    assert browser.get("/session").json()["authenticated"] is False
    assert post_login(browser, "cli_admin").status_code == 401
    assert login(browser, "cli_admin", new)
    assert runner.invoke(cli, ["user", "disable", "nobody"]).exit_code == 2
    actions = {r.action for r in _query(url, "SELECT action FROM audit_log WHERE actor LIKE 'cli:%'")}
    assert {"user_create", "user_disable", "user_reset_password"} <= actions


# ------------------------------------------------------------------------------------- login / logout


def test_login_form_is_csp_clean_html_in_chinese(browser: TestClient) -> None:
    page = browser.get("/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "登录名" in page.text and "密码" in page.text and "<script" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    cookie = page.headers["set-cookie"]
    assert accounts.LOGIN_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_login_session_logout(env: tuple[TestClient, str], browser: TestClient) -> None:
    _, url = env
    uid = create_user(url, "disp1", "dispatcher", name="调度员丙")
    r = post_login(browser, "disp1")
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert f"{accounts.SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; over TLS it is Secure (next test)
    token = browser.cookies[accounts.SESSION_COOKIE]
    stored = _query(url, "SELECT * FROM web_sessions WHERE user_id = :u", u=uid)
    assert [s.id for s in stored] == [accounts.hash_token(token)]  # only the hash is stored
    me = browser.get("/session").json()
    assert me["authenticated"] and me["via"] == "session" and me["role"] == "dispatcher"
    assert me["login"] == "disp1" and me["name"] == "调度员丙（disp1）" and me["sees_personal_data"]
    assert me["csrf_token"] == r.json()["csrf_token"] == accounts.csrf_token(token)
    out = browser.post("/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    assert out.status_code == 200 and out.json() == {"logged_out": True}
    assert not _query(url, "SELECT * FROM web_sessions WHERE user_id = :u", u=uid)
    assert browser.get("/session").json()["authenticated"] is False
    # The old cookie, replayed, opens nothing.
    replay = TestClient(browser.app, cookies={accounts.SESSION_COOKIE: token})
    assert replay.get("/session").json()["authenticated"] is False
    assert [e.actor_user_id for e in _audit(url, "login", uid)] == [uid]
    assert len(_audit(url, "logout", uid)) == 1


def test_secure_cookie_over_tls(env: tuple[TestClient, str]) -> None:
    _, url = env
    create_user(url, "tls1", "planner")
    tls = TestClient(env[0].app, base_url="https://testserver")
    r = post_login(tls, "tls1")
    assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]


def test_browser_form_post_redirects(env: tuple[TestClient, str], browser: TestClient) -> None:
    _, url = env
    create_user(url, "form1", "planner")
    html = {"Accept": "text/html"}
    ok = browser.post(
        "/login",
        data={"login": "form1", "password": PASSWORD, "csrf_token": form_csrf(browser), "next": "/maps/coverage"},
        headers=html, follow_redirects=False,
    )  # fmt: skip
    assert ok.status_code == 303 and ok.headers["location"] == "/maps/coverage"
    csrf = browser.get("/session").json()["csrf_token"]
    bye = browser.post("/logout", data={"csrf_token": csrf}, headers=html, follow_redirects=False)
    assert bye.status_code == 303 and bye.headers["location"].startswith("/login")
    # A foreign `next` is not followed (no open redirect); a wrong password goes back to the form.
    evil = browser.post(
        "/login",
        data={"login": "form1", "password": PASSWORD, "csrf_token": form_csrf(browser), "next": "//evil.example"},
        headers=html, follow_redirects=False,
    )  # fmt: skip
    assert evil.headers["location"] == "/session"
    wrong = browser.post(
        "/login", data={"login": "form1", "password": "nope nope", "csrf_token": form_csrf(browser)},
        headers=html, follow_redirects=False,
    )  # fmt: skip
    assert wrong.status_code == 303 and wrong.headers["location"] == "/login?error=login_failed"
    assert "登录名或密码错误" in browser.get(wrong.headers["location"]).text


def test_wrong_password_and_unknown_login_answer_alike(
    env: tuple[TestClient, str], browser: TestClient
) -> None:
    _, url = env
    uid = create_user(url, "plan1", "planner")
    wrong = post_login(browser, "plan1", "not the password")
    unknown = post_login(browser, "no_such_user", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() and wrong.json()["code"] == "login_failed"
    assert accounts.SESSION_COOKIE not in browser.cookies
    failed = _audit(url, "login_failed")
    assert any(e.actor_user_id == uid and e.detail["reason"] == "wrong_password" for e in failed)
    assert any(e.actor == "login:no_such_user" and e.detail["reason"] == "unknown_login" for e in failed)


def test_login_form_needs_its_csrf_token(env: tuple[TestClient, str], browser: TestClient) -> None:
    _, url = env
    create_user(url, "csrf_login", "planner")
    form_csrf(browser)  # the cookie is set, but the field is missing or wrong
    for field in ("", "forged"):
        r = browser.post("/login", data={"login": "csrf_login", "password": PASSWORD, "csrf_token": field})
        assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    fresh = TestClient(browser.app)  # no login page opened: no cookie
    r = fresh.post("/login", data={"login": "csrf_login", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403


def test_lockout_after_repeated_failures(
    env: tuple[TestClient, str], browser: TestClient, moving_clock: Callable[[timedelta], None]
) -> None:
    _, url = env  # login_max_failures=3 in this module; window and lockout 15 minutes (defaults)
    uid = create_user(url, "lock1", "dispatcher")
    assert post_login(browser, "lock1", "bad password 1").status_code == 401
    assert post_login(browser, "lock1", "bad password 2").status_code == 401
    third = post_login(browser, "lock1", "bad password 3")
    assert third.status_code == 423 and third.json()["code"] == "account_locked"
    assert "锁定" in third.json()["message"]
    # Locked: even the right password is refused.
    assert post_login(browser, "lock1").status_code == 423
    assert len(_audit(url, "login_locked", uid)) == 1
    assert _audit(url, "login_failed", uid)[-1].detail["reason"] == "locked"
    moving_clock(timedelta(minutes=16))
    assert post_login(browser, "lock1").status_code == 200
    # A success clears the count, and failures further apart than the window do not add up.
    browser.cookies.clear()
    assert [post_login(browser, "lock1", "bad again").status_code for _ in range(2)] == [401, 401]
    moving_clock(timedelta(minutes=16))
    assert [post_login(browser, "lock1", "bad again").status_code for _ in range(2)] == [401, 401]
    assert post_login(browser, "lock1").status_code == 200


def test_idle_timeout_and_absolute_lifetime(
    env: tuple[TestClient, str], browser: TestClient, moving_clock: Callable[[timedelta], None]
) -> None:
    _, url = env
    uid = create_user(url, "idle1", "dispatcher")
    login(browser, "idle1")
    moving_clock(timedelta(minutes=29))
    assert browser.get("/session").json()["authenticated"] is True  # used: the idle clock restarts
    moving_clock(timedelta(minutes=29))
    me = browser.get("/session").json()
    assert me["authenticated"] is True
    moving_clock(timedelta(minutes=31))
    assert browser.get("/session").json()["authenticated"] is False
    assert _audit(url, "session_expired", uid)[-1].detail["reason"] == "idle"
    # Absolute lifetime (12 h): a session used every 20 minutes still ends.
    login(browser, "idle1")
    for _ in range(36):
        moving_clock(timedelta(minutes=20))
        if not browser.get("/session").json()["authenticated"]:
            break
    assert _ == 35  # 36 × 20 min = 12 h
    assert _audit(url, "session_expired", uid)[-1].detail["reason"] == "lifetime"


# -------------------------------------------------------------------------------------------- CSRF


def _report(client: TestClient) -> int:
    lon, lat = interior_point(MICRO)
    r = client.post("/reports", json={"category": "noise", "channel": "hotline", "lon": lon, "lat": lat})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_writes_with_the_cookie_need_the_csrf_token(env: tuple[TestClient, str], browser: TestClient) -> None:
    client, url = env
    uid = create_user(url, "disp_csrf", "dispatcher")
    csrf = login(browser, "disp_csrf")
    rid = _report(TestClient(client.app))
    move = {"to": "accepted"}
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": accounts.csrf_token("another session")}):
        r = browser.post(f"/reports/{rid}/transitions", json=move, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "csrf_failed", headers
    assert client.get(f"/reports/{rid}").json()["status"] == "reported"  # nothing happened
    ok = browser.post(f"/reports/{rid}/transitions", json=move, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    # The write is audited with the user as its actor (not a token).
    row = _query(url, "SELECT * FROM audit_log WHERE subject = :s AND action LIKE 'POST /reports/%'",
                 s=f"report:{rid}")  # fmt: skip
    assert len(row) == 1 and row[0].actor_user_id == uid and row[0].actor_token_id is None
    assert row[0].actor == "测试disp_csrf（disp_csrf）"
    history = browser.get(f"/reports/{rid}").json()["history"]
    assert history[-1]["actor"] == "测试disp_csrf（disp_csrf）"
    # Reads need no CSRF token; a session without one still reads.
    assert browser.get(f"/reports/{rid}").status_code == 200


def test_bearer_still_works_and_wins_over_a_cookie(env: tuple[TestClient, str], browser: TestClient) -> None:
    client, url = env
    token = create_token(url, "dispatcher", "值班令牌")
    rid = _report(TestClient(client.app))
    create_user(url, "plan_cookie", "planner")
    login(browser, "plan_cookie")
    # The bearer token is the principal: no CSRF token needed (a browser cannot forge the header).
    r = browser.post(f"/reports/{rid}/transitions", json={"to": "accepted"}, headers=bearer(token))
    assert r.status_code == 200
    me = browser.get("/session", headers=bearer(token)).json()
    assert me["via"] == "token" and me["name"] == "值班令牌" and me["csrf_token"] is None
    plain = TestClient(client.app).get("/session").json()
    assert plain["authenticated"] is False and plain["role"] == "public"


# ------------------------------------------------------------------------------------------ privacy


@pytest.mark.parametrize("role", ["grid_worker", "dispatcher", "planner", "admin"])
def test_a_session_sees_what_a_token_of_its_role_sees(
    env: tuple[TestClient, str], browser: TestClient, role: str
) -> None:
    client, url = env
    token = create_token(url, role, f"privacy-{role}")
    create_user(url, f"priv_{role}", role)
    login(browser, f"priv_{role}")
    by_token = client.get(f"/grids/{MICRO}", headers=bearer(token)).json()["properties"]["people"]
    by_session = browser.get(f"/grids/{MICRO}").json()["properties"]["people"]
    assert by_session == by_token and by_session
    unmasked = all(re.fullmatch(r"1\d{10}", p["phone"]) for p in by_session)
    masked = all(MASKED.fullmatch(p["phone"]) for p in by_session)
    assert (unmasked, masked) == ((True, False) if role != "grid_worker" else (False, True))
    # A sensitive report: listed to dispatcher-or-higher only, for a session as for a token.
    sensitive = _query(url, "SELECT id FROM reports WHERE category = 'elderly_fraud' LIMIT 1")[0].id
    assert (
        browser.get(f"/reports/{sensitive}").status_code
        == client.get(f"/reports/{sensitive}", headers=bearer(token)).status_code
        == (404 if role == "grid_worker" else 200)
    )


def test_role_checks_apply_to_sessions(env: tuple[TestClient, str], browser: TestClient) -> None:
    client, url = env
    create_user(url, "worker_roles", "grid_worker")
    csrf = login(browser, "worker_roles")
    rid = _report(TestClient(client.app))
    r = browser.post(f"/reports/{rid}/transitions", json={"to": "accepted"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_a_session_has_its_own_rate_bucket(
    env: tuple[TestClient, str], make_client: Callable[..., Any]
) -> None:
    """Logged-in users are counted per session like token holders, not with everyone at their address."""
    _, url = env
    create_user(url, "rate_disp", "dispatcher")
    lon, lat = interior_point(MICRO)
    body = {"category": "noise", "channel": "hotline", "lon": lon, "lat": lat}
    with make_client(url, rate_anonymous_writes_per_min=3) as anonymous:
        browser = TestClient(anonymous.app)
        csrf = login(browser, "rate_disp")  # one anonymous write (the login)
        for _ in range(5):
            assert browser.post("/reports", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
        assert [anonymous.post("/reports", json=body).status_code for _ in range(3)] == [201, 201, 429]
