"""Console users and browser sessions (issue 13): argon2 password hashes, login with lockout, sessions with
an idle timeout and an absolute lifetime, the CSRF token of a session. Every login, failed login, lockout,
logout and user change is in the audit log.

Session tokens are 256-bit random secrets in an HttpOnly cookie; only their SHA-256 is stored (the row's
id), so a copy of the database opens no session. The CSRF token is an HMAC of the session token: the
server recomputes it from the cookie (nothing stored) and a page can learn it only from `GET /session`,
which a foreign site cannot read (same-origin policy).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from geo_grid import clock
from geo_grid.errors import AccountLocked, GeoGridError, InvalidInput, LoginFailed, NotFound
from geo_grid.models import USER_ROLES
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import users as user_repo
from geo_grid.repository.users import User, WebSession
from geo_grid.services.auth import SERVED, SubdistrictChoice, subdistrict_for
from geo_grid.settings import Settings

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
SESSION_COOKIE = "geo_grid_session"
LOGIN_COOKIE = "geo_grid_login"  # the login form's own CSRF token (double submit; there is no session yet)

# argon2id with the library's defaults (RFC 9106 "low memory" profile); check_needs_rehash upgrades old
# hashes on the next successful login.
_hasher = PasswordHasher()
# Verified against when the login is unknown, so that an unknown login costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"密码至少需要 {MIN_PASSWORD_CHARS} 个字符")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"密码最多 {MAX_PASSWORD_CHARS} 个字符")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def actor_label(user: User) -> str:
    """How a user is named in report histories and the audit log's `actor`: readable and unambiguous."""
    return f"{user.display_name}（{user.login}）"[:100]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: derived from the session's secret token (nothing stored)."""
    return hmac.new(session_token.encode(), b"geo_grid csrf v1", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session_token), str(given))


# ------------------------------------------------------------------------------------------- users


def create_user(
    session: Session,
    login: str,
    display_name: str,
    role: str,
    password: str,
    person_id: int | None = None,
    actor: str = "system",
    subdistrict: SubdistrictChoice = SERVED,
) -> User:
    """A new user (audited `user_create`); the password is stored as an argon2id hash only. The subdistrict
    the user works for: a code, None (district/city level: read-only unless admin) or, by default, the
    served one (services/auth.subdistrict_for)."""
    login = login.strip()
    if not login or len(login) > 64 or any(c.isspace() for c in login):
        raise InvalidInput("登录名不能为空、不能含空格，最多 64 个字符")
    if not display_name.strip() or len(display_name) > 100:
        raise InvalidInput("姓名不能为空，最多 100 个字符")
    if role not in USER_ROLES:
        raise InvalidInput(f"未知角色 {role!r}；可选：{'、'.join(USER_ROLES)}")
    check_password_rules(password)
    if person_id is not None and not user_repo.person_exists(session, person_id):
        raise NotFound(f"花名册中没有编号为 {person_id} 的人员")
    if user_repo.by_login(session, login) is not None:
        raise InvalidInput(f"登录名 {login} 已存在")
    code = subdistrict_for(session, role, subdistrict)
    user = user_repo.add_user(
        session, login, display_name.strip(), role, hash_password(password), person_id, clock.now(), code
    )
    audit_repo.add(session, actor, "user_create",
                   {"login": login, "role": role, "person_id": person_id, "subdistrict_code": code},
                   subject=f"user:{user.id}")  # fmt: skip
    return user


def list_users(session: Session) -> list[User]:
    return user_repo.list_all(session)


def _user_by_login(session: Session, login: str) -> User:
    user = user_repo.by_login(session, login, for_update=True)
    if user is None:
        raise NotFound(f"没有登录名为 {login} 的用户")
    return user


def disable_user(session: Session, login: str, actor: str = "system") -> User:
    """Disable a user and end their sessions at once (audited `user_disable`)."""
    user = _user_by_login(session, login)
    user_repo.update_user(session, user.id, disabled=True)
    ended = user_repo.delete_sessions_of(session, user.id)
    audit_repo.add(session, actor, "user_disable", {"login": login, "sessions_ended": ended},
                   subject=f"user:{user.id}")  # fmt: skip
    return user


def reset_password(session: Session, login: str, password: str, actor: str = "system") -> User:
    """Set a new password, lift a lockout, end the user's sessions (audited `user_reset_password`)."""
    user = _user_by_login(session, login)
    check_password_rules(password)
    user_repo.update_user(
        session, user.id, password_hash=hash_password(password), password_changed_at=clock.now(),
        failed_attempts=0, last_failed_at=None, locked_until=None,
    )  # fmt: skip
    ended = user_repo.delete_sessions_of(session, user.id)
    audit_repo.add(session, actor, "user_reset_password", {"login": login, "sessions_ended": ended},
                   subject=f"user:{user.id}")  # fmt: skip
    return user


def move_user(session: Session, login: str, subdistrict: str | None, actor: str = "system") -> User:
    """Move a user to another subdistrict (a code) or to the district/city level (None); their sessions end
    at once, so that no open page keeps the old scope (audited `user_move`)."""
    user = _user_by_login(session, login)
    code = subdistrict_for(session, user.role, subdistrict)
    user_repo.update_user(session, user.id, subdistrict_code=code)
    ended = user_repo.delete_sessions_of(session, user.id)
    audit_repo.add(session, actor, "user_move",
                   {"login": login, "from": user.subdistrict_code, "to": code, "sessions_ended": ended},
                   subject=f"user:{user.id}")  # fmt: skip
    moved = user_repo.by_id(session, user.id)
    assert moved is not None  # updated in this transaction
    return moved


# ------------------------------------------------------------------------------------------- login


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt did. A failure is returned, not raised, so that the caller commits what it
    recorded (the failed attempt, the lockout, their audit entries) and raises `error` afterwards."""

    user: User | None
    token: str | None = None  # the new session's token (the cookie), on success
    error: GeoGridError | None = None


@dataclass(frozen=True)
class Client:
    """Where a request comes from (recorded with a session and in the audit log)."""

    ip: str | None = None
    user_agent: str | None = None


def _fail(session: Session, login: str, user: User | None, reason: str, client: Client) -> None:
    audit_repo.add(
        session, f"login:{login}"[:100], "login_failed", {"reason": reason, "ip": client.ip},
        actor_user_id=user.id if user else None, subject=f"user:{user.id}" if user else None,
    )  # fmt: skip


def login(
    session: Session, settings: Settings, login_name: str, password: str, client: Client
) -> LoginOutcome:
    """Check a login and open a session. Unknown login, wrong password and disabled account give the same
    `login_failed` answer. `login_max_failures` failures within `login_failure_window_s` lock the account for
    `login_lockout_s` (`account_locked`, even with the right password)."""
    now = clock.now()
    login_name = login_name.strip()[:64]
    user = user_repo.by_login(session, login_name, for_update=True) if login_name else None
    wrong = LoginFailed("登录名或密码错误")
    if user is None:
        _verify(_DUMMY_HASH, password)  # the same cost as a known login
        _fail(session, login_name, None, "unknown_login", client)
        return LoginOutcome(None, error=wrong)
    if user.locked_until is not None and user.locked_until > now:
        _fail(session, login_name, user, "locked", client)
        return LoginOutcome(user, error=_locked(user.locked_until, now))
    if not _verify(user.password_hash, password):
        window_start = now - timedelta(seconds=settings.login_failure_window_s)
        recent = user.last_failed_at is not None and user.last_failed_at > window_start
        failures = (user.failed_attempts if recent else 0) + 1
        if failures >= settings.login_max_failures:
            until = now + timedelta(seconds=settings.login_lockout_s)
            user_repo.update_user(
                session, user.id, failed_attempts=0, last_failed_at=None, locked_until=until
            )
            _fail(session, login_name, user, "wrong_password", client)
            audit_repo.add(session, "system", "login_locked",
                           {"login": login_name, "failures": failures, "until": until.isoformat()},
                           actor_user_id=user.id, subject=f"user:{user.id}")  # fmt: skip
            return LoginOutcome(user, error=_locked(until, now))
        user_repo.update_user(session, user.id, failed_attempts=failures, last_failed_at=now)
        _fail(session, login_name, user, "wrong_password", client)
        return LoginOutcome(user, error=wrong)
    if user.disabled:
        _fail(session, login_name, user, "disabled", client)
        return LoginOutcome(user, error=wrong)
    changes: dict[str, object] = {"failed_attempts": 0, "last_failed_at": None, "locked_until": None}
    if _hasher.check_needs_rehash(user.password_hash):
        changes["password_hash"] = hash_password(password)
    user_repo.update_user(session, user.id, **changes)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=settings.session_max_age_s)
    user_repo.add_session(session, hash_token(token), user.id, now, expires, client.ip,
                          (client.user_agent or "")[:300] or None)  # fmt: skip
    audit_repo.add(session, actor_label(user), "login", {"ip": client.ip, "expires_at": expires.isoformat()},
                   actor_user_id=user.id, subject=f"user:{user.id}")  # fmt: skip
    return LoginOutcome(user, token=token)


def _locked(until: datetime, now: datetime) -> AccountLocked:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    return AccountLocked(
        f"登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试或联系管理员重置密码",
        {"locked_until": until.isoformat()},
    )


# ------------------------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class ActiveSession:
    """A valid browser session and its user."""

    session: WebSession
    user: User


def _end_reason(ws: WebSession, user: User, settings: Settings, now: datetime) -> str | None:
    """Why a session has ended (its user disabled, past its lifetime, idle too long), or None if it is live."""
    if user.disabled:
        return "disabled"
    if now >= ws.expires_at:
        return "lifetime"
    if now - ws.last_seen_at > timedelta(seconds=settings.session_idle_timeout_s):
        return "idle"
    return None


def resolve_session(session: Session, settings: Settings, token: str) -> ActiveSession | None:
    """The session of a cookie's token, or None when there is none or it has ended: past its absolute
    lifetime, idle longer than `session_idle_timeout_s`, or its user disabled. An ended session is deleted
    (audited `session_expired`); a live one is marked as seen now."""
    now = clock.now()
    found = user_repo.session_with_user(session, hash_token(token))
    if found is None:
        return None
    ws, user = found
    reason = _end_reason(ws, user, settings, now)
    if reason is not None:
        user_repo.delete_session(session, ws.id)
        audit_repo.add(session, actor_label(user), "session_expired", {"reason": reason},
                       actor_user_id=user.id, subject=f"user:{user.id}")  # fmt: skip
        return None
    user_repo.touch_session(session, ws.id, now)
    return ActiveSession(ws, user)


def session_is_live(session: Session, settings: Settings, token: str) -> bool:
    """Whether a cookie's session is live, changing nothing (the rate limiter asks before the request)."""
    found = user_repo.session_with_user(session, hash_token(token))
    return found is not None and _end_reason(*found, settings, clock.now()) is None


def logout(session: Session, token: str) -> User | None:
    """End the cookie's session (audited `logout`); None when it had ended already."""
    found = user_repo.session_with_user(session, hash_token(token))
    if found is None:
        return None
    ws, user = found
    user_repo.delete_session(session, ws.id)
    audit_repo.add(session, actor_label(user), "logout", {}, actor_user_id=user.id, subject=f"user:{user.id}")
    return user


def idle_deadline(ws: WebSession, settings: Settings) -> datetime:
    """When the session ends if no request comes: the earlier of idle timeout and absolute lifetime."""
    return min(ws.last_seen_at + timedelta(seconds=settings.session_idle_timeout_s), ws.expires_at)
