"""What tests share to talk to the API: bearer headers and a token of each role."""

from __future__ import annotations

from geo_grid import db


def create_tokens(url: str) -> dict[str, str]:
    from geo_grid.services.auth import create_token

    engine = db.make_engine(url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as session:
        out = {
            role: create_token(session, role, f"test-{role}") for role in ("dispatcher", "planner", "admin")
        }
    engine.dispose()
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
