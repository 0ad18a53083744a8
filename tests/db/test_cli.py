"""The geo-grid command line against the test PostGIS (GEO_GRID_DATABASE_URL set, no cluster started)."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geo_grid.cli import app

runner = CliRunner()


def test_help_explains_every_command() -> None:
    out = runner.invoke(app, ["--help"]).output
    for command in ("up", "db", "load-sample", "token"):
        assert command in out


def test_db_upgrade_then_load_sample_into_empty_database(empty_db_factory, monkeypatch) -> None:
    url = empty_db_factory()
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["load-sample"])
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grids WHERE level = 'micro'")).scalar() == 652
    engine.dispose()
    again = runner.invoke(app, ["load-sample"])
    assert again.exit_code == 1 and "already holds data" in again.output


def test_token_create_prints_a_token_once_and_stores_only_its_hash(db_url, monkeypatch) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    result = runner.invoke(app, ["token", "create", "--role", "dispatcher", "--name", "街道中心值班"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("gg_") and len(token) > 40
    engine = create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name, role, token_hash FROM api_tokens")).one()
    engine.dispose()
    assert row.name == "街道中心值班" and row.role == "dispatcher" and token not in row.token_hash
    bad = runner.invoke(app, ["token", "create", "--role", "emperor", "--name", "x"])
    assert bad.exit_code == 2 and "unknown role" in bad.output


def test_token_list_and_revoke(db_url, monkeypatch, make_client) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    token = runner.invoke(app, ["token", "create", "--role", "dispatcher", "--name", "夜班"]).output.split()[
        -1
    ]
    listed = runner.invoke(app, ["token", "list"]).output
    assert "dispatcher\t夜班" in listed and "active" in listed and token not in listed
    token_id = listed.splitlines()[0].split("\t")[0]
    with make_client(db_url) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/grids/410105012001001", headers=headers).status_code == 200
    result = runner.invoke(app, ["token", "revoke", token_id])
    assert result.exit_code == 0, result.output
    assert "revoked" in runner.invoke(app, ["token", "list"]).output
    with make_client(db_url) as client:  # a new process has no cached principal
        r = client.get("/grids/410105012001001", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    again = runner.invoke(app, ["token", "revoke", token_id])
    assert again.exit_code == 2 and "no active token" in again.output
