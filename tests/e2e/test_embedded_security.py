"""The embedded cluster as `geo-grid up` / `make run` start it: password-only access, a service role that
is not a superuser, private secrets, durable settings, and the in-place upgrade of a trust-auth data dir."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError

from geo_grid import db
from geo_grid.cli.common import database
from geo_grid.embedded import EmbeddedCluster, find_pg_bin_dir, free_port
from geo_grid.embedded_roles import DB_APP_ROLE, DB_SUPERUSER, ROLES
from geo_grid.settings import Settings

# Relations of the public schema that are not part of an extension (PostGIS's spatial_ref_sys & co.).
OWNERS_SQL = """
SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""


def settings_for(data_dir: Path, port: int) -> Settings:
    """What `geo-grid up` builds from GEO_GRID_DATA_DIR / GEO_GRID_PG_PORT (nothing else set)."""
    return Settings(database_url=None, data_dir=data_dir, pg_port=port, load_sample=False)


@pytest.fixture(scope="module")
def shipped() -> Iterator[tuple[EmbeddedCluster, str]]:
    """A fresh embedded cluster started exactly as `geo-grid up` starts it (migrated, no sample)."""
    data_dir = Path(tempfile.mkdtemp(prefix="geo_grid_sec_", dir="/tmp"))
    port = free_port()
    try:
        with database(settings_for(data_dir, port)) as (url, cluster):
            assert cluster is not None
            yield cluster, url
    finally:
        EmbeddedCluster(data_dir, port, find_pg_bin_dir()).stop("immediate")
        shutil.rmtree(data_dir, ignore_errors=True)


def refused(**params: Any) -> str:
    with pytest.raises(psycopg2.OperationalError) as info:
        psycopg2.connect(connect_timeout=5, **params).close()
    return str(info.value)


def test_connections_without_the_secret_are_refused(shipped: tuple[EmbeddedCluster, str]) -> None:
    cluster, _ = shipped
    tcp = {"host": "127.0.0.1", "port": cluster.port, "dbname": "geo_grid"}
    unix = {"host": str(cluster.data_dir), "port": cluster.port, "dbname": "geo_grid"}
    for role in ROLES:
        assert "no password supplied" in refused(**tcp, user=role)
        assert "no password supplied" in refused(**unix, user=role)
        assert "password authentication failed" in refused(**tcp, user=role, password="wrong")
        assert "password authentication failed" in refused(**unix, user=role, password="wrong")
    # one role's secret does not open another role, nor a role the cluster does not have
    app_secret = cluster.password(DB_APP_ROLE)
    assert "password authentication failed" in refused(**tcp, user=DB_SUPERUSER, password=app_secret)
    assert "password authentication failed" in refused(**tcp, user="postgres", password=app_secret)
    # with the secret, both ways in work
    for params in (tcp, unix):
        psycopg2.connect(connect_timeout=5, user=DB_APP_ROLE, password=app_secret, **params).close()
    hba = [
        line.split()
        for line in (cluster.pgdata / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert hba and all(fields[-1] == "scram-sha-256" for fields in hba), hba


def test_the_service_role_owns_the_database_but_is_not_a_superuser(
    shipped: tuple[EmbeddedCluster, str],
) -> None:
    cluster, url = shipped
    assert make_url(url).username == DB_APP_ROLE
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            role = conn.execute(
                text(
                    "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
                    "FROM pg_roles WHERE rolname = current_user"
                )
            ).one()
            assert tuple(role) == (DB_APP_ROLE, False, False, False, False, False)
            owner = conn.execute(
                text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
            ).scalar_one()
            assert owner == DB_APP_ROLE
            assert set(conn.execute(text(OWNERS_SQL)).scalars()) == {DB_APP_ROLE}  # the migrations ran as it
            assert (
                conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar()
                == 1
            )
        with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text("SELECT rolpassword FROM pg_authid"))  # a superuser could read every hash
    finally:
        engine.dispose()


def test_secrets_file_is_private_and_passwords_stay_out_of_printed_urls_and_logs(
    shipped: tuple[EmbeddedCluster, str],
) -> None:
    cluster, url = shipped
    info = cluster.secrets_path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.geteuid()
    secret = cluster.password(DB_APP_ROLE)
    assert len(secret) >= 32 and f":{quote(secret, safe='')}@" in url  # the URL carries it …
    assert secret not in str(make_url(url)) and secret not in repr(create_engine(url))  # … shown as ***
    server_log = cluster.logfile.read_text(errors="replace")
    for role in ROLES:  # only SCRAM verifiers were sent to the server
        assert cluster.password(role) not in server_log
    assert not list(cluster.data_dir.glob(".initdb-password*"))


def test_cluster_started_as_geo_grid_up_starts_it_is_durable(
    shipped: tuple[EmbeddedCluster, str], pg_cluster: EmbeddedCluster
) -> None:
    cluster, url = shipped
    assert cluster.durable
    settings = ("fsync", "synchronous_commit", "full_page_writes")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert {s: conn.execute(text(f"SHOW {s}")).scalar() for s in settings} == dict.fromkeys(
            settings, "on"
        )
    engine.dispose()
    # the test suite's own cluster opts out explicitly (durable=False); nothing else does
    assert not pg_cluster.durable
    engine = create_engine(pg_cluster.url("postgres"))
    with engine.connect() as conn:
        assert conn.execute(text("SHOW fsync")).scalar() == "off"
    engine.dispose()


def make_legacy_data_dir(data_dir: Path, port: int, keep_running: bool) -> None:
    """What earlier versions made: initdb --auth=trust, the database and its schema owned by the
    superuser, no secrets; then stopped (as `make run` does at exit), or left running."""
    legacy = EmbeddedCluster(data_dir, port, find_pg_bin_dir())
    legacy._prepare_dir()
    bin_dir = legacy.bin_dir
    legacy._run(
        [bin_dir / "initdb", "-D", legacy.pgdata, "-U", DB_SUPERUSER, "--auth=trust", "--encoding=UTF8",
         "--locale=C.UTF-8"]
    )  # fmt: skip
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {data_dir} -c fsync=off"
    legacy._run([bin_dir / "pg_ctl", "start", "-w", "-D", legacy.pgdata, "-l", legacy.logfile, "-o", opts])
    conn = psycopg2.connect(host="127.0.0.1", port=port, user=DB_SUPERUSER, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE "geo_grid"')
    conn.close()
    legacy_url = f"postgresql+psycopg2://{DB_SUPERUSER}@127.0.0.1:{port}/geo_grid"
    db.upgrade(legacy_url)
    engine = create_engine(legacy_url)
    with engine.begin() as conn:
        conn.execute(  # a community belongs to a subdistrict (migration 0009_district)
            text(
                "INSERT INTO subdistricts VALUES ('410105012', '未来路街道', '410105', '金水区', '410100', "
                "'郑州市', '410000', '河南省')"
            )
        )
        conn.execute(text("INSERT INTO communities (code, name) VALUES ('410105012099', '旧数据社区')"))
    engine.dispose()
    if not keep_running:
        legacy.stop("fast")
    assert not legacy.secrets_path.exists() and not legacy.hba_secured()


@pytest.mark.parametrize("running", [False, True], ids=["stopped", "still_running"])
def test_trust_auth_data_dir_of_an_earlier_version_is_upgraded_in_place(running: bool) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="geo_grid_legacy_", dir="/tmp"))
    port = free_port()
    try:
        make_legacy_data_dir(data_dir, port, keep_running=running)
        for attempt in range(2):  # the upgrade, then an ordinary start of the upgraded directory
            with database(settings_for(data_dir, port)) as (url, cluster):
                assert cluster is not None and cluster.hba_secured()
                assert stat.S_IMODE(cluster.secrets_path.stat().st_mode) == 0o600
                if attempt == 0:
                    secrets_before = cluster.secrets_path.read_text()
                else:
                    assert cluster.secrets_path.read_text() == secrets_before  # kept, not regenerated
                for role in ROLES:
                    refused(host="127.0.0.1", port=port, user=role, dbname="geo_grid")
                    refused(host=str(data_dir), port=port, user=role, dbname="geo_grid")
                assert make_url(url).username == DB_APP_ROLE
                engine = create_engine(url)
                try:
                    with engine.begin() as conn:
                        assert not conn.execute(
                            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                        ).scalar()
                        name = conn.execute(text("SELECT name FROM communities WHERE code = '410105012099'"))
                        assert name.scalar() == "旧数据社区"  # the data is still there
                        assert set(conn.execute(text(OWNERS_SQL)).scalars()) == {DB_APP_ROLE}
                        # the service role can write and change the schema it now owns (future migrations)
                        conn.execute(text("UPDATE communities SET name = name WHERE code = '410105012099'"))
                        conn.execute(text("ALTER TABLE communities ADD COLUMN upgrade_probe int"))
                        conn.execute(text("ALTER TABLE communities DROP COLUMN upgrade_probe"))
                        conn.execute(text("SELECT nextval(pg_get_serial_sequence('reports', 'id'))"))
                finally:
                    engine.dispose()
            # a cluster it found running is left running (reload, no restart); one it started, stopped
            still_up = EmbeddedCluster(data_dir, port, find_pg_bin_dir()).running()
            assert still_up == (running and attempt == 0)
            if still_up:
                EmbeddedCluster(data_dir, port, find_pg_bin_dir()).stop()
    finally:
        EmbeddedCluster(data_dir, port, find_pg_bin_dir()).stop("immediate")
        shutil.rmtree(data_dir, ignore_errors=True)
