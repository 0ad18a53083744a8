"""The pure parts of accounts and photos: where a login may send the browser, the CSRF derivation, the
password hash, and photo sniffing by magic bytes."""

from __future__ import annotations

import pytest

from geo_grid.io.photos import sniff
from geo_grid.render.login_page import safe_next
from geo_grid.services import accounts


@pytest.mark.parametrize(("given", "expected"), [
    ("/maps/coverage", "/maps/coverage"),
    ("/reports?status=open", "/reports?status=open"),
    (None, "/session"),
    ("", "/session"),
    ("//evil.example/x", "/session"),
    ("https://evil.example/", "/session"),
    ("/\\evil.example", "/session"),
    ("javascript:alert(1)", "/session"),
    ("/ok\r\nSet-Cookie: x=1", "/session"),
])  # fmt: skip
def test_safe_next_stays_on_this_site(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def test_csrf_token_is_derived_from_the_session_token_only() -> None:
    a, b = "session-token-a", "session-token-b"
    assert accounts.csrf_token(a) == accounts.csrf_token(a) != accounts.csrf_token(b)
    assert a not in accounts.csrf_token(a) and len(accounts.csrf_token(a)) == 64
    assert accounts.csrf_matches(a, accounts.csrf_token(a))
    assert not accounts.csrf_matches(a, accounts.csrf_token(b))
    assert not accounts.csrf_matches(a, None) and not accounts.csrf_matches(a, "")


def test_password_hash_is_argon2id_and_rules_hold() -> None:
    stored = accounts.hash_password("long enough secret")
    assert stored.startswith("$argon2id$") and "long enough secret" not in stored
    with pytest.raises(Exception, match="至少"):
        accounts.check_password_rules("short")


@pytest.mark.parametrize(("data", "kind"), [
    (b"\xff\xd8\xff\xe0rest", "JPEG"),
    (b"\x89PNG\r\n\x1a\nrest", "PNG"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WEBP"),
    (b"GIF89a", None),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
    (b"RIFF\x10\x00\x00\x00AVI ", None),
    (b"", None),
])  # fmt: skip
def test_sniff_by_magic_bytes(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind
