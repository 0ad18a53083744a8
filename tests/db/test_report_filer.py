"""Who filed a report is a column written with it (migration 0011_report_filer): the migration fills it from
the audit log's record of each `POST /reports` for the reports made before, and downgrades cleanly. The
API side (我的上报, GET /m/reports) is tested in tests/e2e/test_field_report.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from geo_grid import db

pytestmark = pytest.mark.db


def test_migration_backfills_the_filer_from_the_audit_log_and_downgrades(
    empty_db_factory: Callable[[], str],
) -> None:
    url = empty_db_factory()
    db.upgrade(url, "0010_access_scope")
    engine = create_engine(url)
    with engine.begin() as conn:
        user = conn.execute(
            text(
                "INSERT INTO users (login, display_name, role, password_hash) "
                "VALUES ('w', '网格员', 'grid_worker', 'x') RETURNING id"
            )  # fmt: skip
        ).scalar_one()
        token = conn.execute(
            text(
                "INSERT INTO api_tokens (name, role, token_hash) VALUES ('t', 'dispatcher', :h) RETURNING id"
            ),
            {"h": "0" * 64},
        ).scalar_one()
        reports = [
            conn.execute(
                text(
                    "INSERT INTO reports (category, description, channel, status) "
                    "VALUES ('noise', '', 'grid_phone', 'reported') RETURNING id"
                )  # fmt: skip
            ).scalar_one()
            for _ in range(4)
        ]
        entries = [  # (actor_user_id, actor_token_id, action, report)
            (user, None, "POST /reports", reports[0]),
            (None, token, "POST /reports", reports[1]),
            (user, None, "POST /reports/{id}/transitions", reports[2]),  # not an intake
            (None, None, "POST /reports", reports[3]),  # the public
        ]
        for u, t, action, rid in entries:
            conn.execute(
                text("INSERT INTO audit_log (actor, actor_user_id, actor_token_id, action, subject) "
                     "VALUES ('x', :u, :t, :a, :s)"),
                {"u": u, "t": t, "a": action, "s": f"report:{rid}"},
            )  # fmt: skip
    db.upgrade(url, "0011_report_filer")
    with engine.connect() as conn:
        got = {
            r.id: (r.filed_by_user_id, r.filed_by_token_id)
            for r in conn.execute(text("SELECT id, filed_by_user_id, filed_by_token_id FROM reports"))
        }
    assert got == {
        reports[0]: (user, None),
        reports[1]: (None, token),
        reports[2]: (None, None),
        reports[3]: (None, None),
    }
    command.downgrade(db.alembic_config(url), "0010_access_scope")
    with engine.connect() as conn:
        left = conn.execute(
            text(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = 'reports' AND column_name LIKE 'filed_by%'"
            )  # fmt: skip
        ).scalar_one()
        assert left == 0 and conn.execute(text("SELECT count(*) FROM reports")).scalar_one() == 4
    engine.dispose()
