"""The embedded cluster's roles (geo_grid/embedded.py): the bootstrap superuser that only administers it,
the application role the service and the CLI connect as, the pg_hba.conf that asks every connection for a
password (SCRAM), the SQL that creates the roles or sets their passwords, and the hand-over of a database
and everything in its public schema to the application role."""

from __future__ import annotations

from typing import Any

DB_SUPERUSER = "geo_grid"  # initdb's bootstrap superuser: administers the cluster, never serves requests
DB_APP_ROLE = "geo_grid_app"  # what the service and the CLI connect as: owns the databases, not a superuser
ROLES = (DB_SUPERUSER, DB_APP_ROLE)
HBA_MARKER = "# geo_grid: password (SCRAM) authentication for every connection"
HBA = f"""{HBA_MARKER}; written by geo_grid/embedded.py
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""


def set_passwords(conn: Any, passwords: dict[str, str], upgrading: bool) -> None:
    """Create the application role if missing, with its stored password; when `upgrading` (a data
    directory of an earlier version, trusting every local connection), give both roles their passwords."""
    from psycopg2 import sql
    from psycopg2.extensions import encrypt_password

    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DB_APP_ROLE,))
        app_missing = cur.fetchone() is None
        for role in ROLES:
            if not upgrading and not (role == DB_APP_ROLE and app_missing):
                continue
            # Only the SCRAM verifier reaches the server (and could reach its log), never the secret.
            verifier = encrypt_password(passwords[role], role, conn, "scram-sha-256")
            create = role == DB_APP_ROLE and app_missing
            stmt = (
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD {}"
                if create
                else "ALTER ROLE {} PASSWORD {}"
            )
            cur.execute(sql.SQL(stmt).format(sql.Identifier(role), sql.Literal(verifier)))


def hand_over(conn: Any, name: str) -> None:
    """On a superuser's connection to database `name`: install PostGIS and give the application role the
    database, its public schema and the relations in it (extension members stay with the superuser)."""
    from psycopg2 import sql

    with conn.cursor() as cur:
        cur.execute("SET client_min_messages = warning")
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute(
            "SELECT pg_get_userbyid(d.datdba), pg_get_userbyid(n.nspowner) FROM pg_database d,"
            " pg_namespace n WHERE d.datname = current_database() AND n.nspname = 'public'"
        )
        db_owner, schema_owner = cur.fetchone()
        app = sql.Identifier(DB_APP_ROLE)
        if db_owner != DB_APP_ROLE:
            cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name), app))
        if schema_owner not in (DB_APP_ROLE, "pg_database_owner"):
            cur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(app))
        cur.execute(_FOREIGN_OWNED, (DB_APP_ROLE,))
        for relation, relkind in cur.fetchall():
            kind = _ALTER_KIND[relkind]
            cur.execute(sql.SQL(f"ALTER {kind} {{}} OWNER TO {{}}").format(sql.SQL(relation), app))


# Relations of the public schema not owned by `%s`, leaving out extension members and sequences that
# follow their table (serial / identity columns): ALTER TABLE … OWNER moves those with it.
_FOREIGN_OWNED = """
SELECT c.oid::regclass::text, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
  AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i')
                                           AND d.refclassid = 'pg_class'::regclass)))
ORDER BY c.relkind DESC
"""
_ALTER_KIND = {
    "r": "TABLE",
    "p": "TABLE",
    "f": "FOREIGN TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "S": "SEQUENCE",
}
