"""The embedded local PostgreSQL + PostGIS cluster that geo_grid manages itself (zero-config default).

PostgreSQL refuses to run as root, so when we are root the cluster runs as an unprivileged OS user
(default `postgres`), which must own the data directory and be able to reach it.

It is the store of record, so it runs with PostgreSQL's durable defaults (fsync, synchronous_commit and
full_page_writes on: a committed report survives a crash); only the test suite turns that off, by
building the cluster with `durable=False` itself. Every connection needs a password (SCRAM): the
bootstrap superuser `geo_grid` only administers the cluster (databases, extensions), the service and
the CLI connect as `geo_grid_app`, which owns the databases but is not a superuser. The generated
passwords live in `data_dir/secrets.json` (mode 0600); a data directory from an earlier version
(trust authentication, no secrets) is upgraded in place on its next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from geo_grid.embedded_roles import (
    DB_APP_ROLE,
    DB_SUPERUSER,
    HBA,
    HBA_MARKER,
    ROLES,
    hand_over,
    set_passwords,
)

SECRETS_FILE = "secrets.json"
# The test suite's throwaway cluster only (EmbeddedCluster(durable=False)): a crash may lose commits.
NON_DURABLE_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class EmbeddedError(RuntimeError):
    """The embedded cluster could not be set up or started; the message says why and what to do."""


def find_pg_bin_dir(explicit: Path | None = None) -> Path:
    if explicit:
        return explicit
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.insert(0, Path(out.stdout.strip()))
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise EmbeddedError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: run `make setup` "
        "(installs Debian postgresql-15 and postgresql-15-postgis-3) or set GEO_GRID_PG_BIN_DIR"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmbeddedCluster:
    """A PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port` only, password auth for all.

    `durable=False` (fsync, synchronous_commit and full_page_writes off) is for the test suite's
    throwaway cluster only; nothing a user runs sets it.
    """

    data_dir: Path
    port: int
    bin_dir: Path
    os_user: str = "postgres"
    durable: bool = True

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def secrets_path(self) -> Path:
        return self.data_dir / SECRETS_FILE

    def password(self, role: str = DB_APP_ROLE) -> str:
        try:
            stored = json.loads(self.secrets_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EmbeddedError(f"cannot read the database passwords in {self.secrets_path}: {exc}") from exc
        if not isinstance(stored, dict) or not isinstance(stored.get(role), str):
            raise EmbeddedError(f"{self.secrets_path} holds no password for role {role!r}")
        return str(stored[role])

    def url(self, database: str, role: str = DB_APP_ROLE) -> str:
        """SQLAlchemy URL of `database` as `role`, password included: never print or log it as is
        (sqlalchemy's make_url(url) shows it as ***)."""
        pw = quote(self.password(role), safe="")
        return f"postgresql+psycopg2://{role}:{pw}@127.0.0.1:{self.port}/{database}"

    # --- running commands as the cluster's owner -------------------------------------------------------
    def _as_owner(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str | Path], check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if self._as_owner():
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise EmbeddedError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return proc

    def _owner_ids(self) -> tuple[int, int] | None:
        if not self._as_owner():
            return None
        try:
            owner = pwd.getpwnam(self.os_user)
        except KeyError as exc:
            raise EmbeddedError(
                f"running as root but OS user {self.os_user!r} does not exist; PostgreSQL refuses root. "
                "Install postgresql-15 (creates `postgres`) or set GEO_GRID_PG_USER"
            ) from exc
        return owner.pw_uid, owner.pw_gid

    def _write_private(
        self, path: Path, text: str, for_server: bool = False, exclusive: bool = False
    ) -> None:
        """Write `text` to `path` atomically with mode 0600, owned by the cluster's OS user when
        `for_server` (a file PostgreSQL reads), else by us; `exclusive`: fail if `path` exists."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            ids = self._owner_ids() if for_server else None
            if ids is not None:
                os.fchown(fd, *ids)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fd = -1
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            if exclusive:
                os.link(tmp, path)  # atomic, and never replaces a file another process just wrote
            else:
                os.replace(tmp, path)
        finally:
            if fd >= 0:
                os.close(fd)
            tmp.unlink(missing_ok=True)

    def _prepare_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ids = self._owner_ids()
        if ids is None:
            return
        os.chown(self.data_dir, *ids)
        probe = self._run(["test", "-w", str(self.data_dir)], check=False)
        if probe.returncode != 0:
            raise EmbeddedError(
                f"OS user {self.os_user!r} cannot reach {self.data_dir} (a parent directory is not "
                "traversable); set GEO_GRID_DATA_DIR to a directory it can reach, e.g. /var/tmp/geo_grid"
            )

    def _ensure_secrets(self) -> dict[str, str]:
        """The roles' passwords, generated on first use: 256 bits each, in URL-safe characters (nothing
        to escape in a URL, and no '%' for Alembic's configparser to trip over)."""
        if not self.secrets_path.exists():
            generated = {role: secrets.token_urlsafe(32) for role in ROLES}
            with contextlib.suppress(FileExistsError):  # another process got there first: use its secrets
                self._write_private(self.secrets_path, json.dumps(generated, indent=2) + "\n", exclusive=True)
        return {role: self.password(role) for role in ROLES}

    # --- lifecycle ---------------------------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        self._prepare_dir()
        if self.initialised():
            return
        passwords = self._ensure_secrets()
        pwfile = self.data_dir / ".initdb-password"
        self._write_private(pwfile, passwords[DB_SUPERUSER] + "\n", for_server=True)
        try:
            self._run(
                [
                    self.bin_dir / "initdb",
                    "-D",
                    self.pgdata,
                    "-U",
                    DB_SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_private(self.pgdata / "pg_hba.conf", HBA, for_server=True)

    def running(self) -> bool:
        return self._run([self.bin_dir / "pg_ctl", "status", "-D", self.pgdata], check=False).returncode == 0

    def start(self) -> None:
        self.init()
        if not self.running():
            self._pg_ctl_start()
        self._secure()

    def _pg_ctl_start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} -c max_connections=200"
        if not self.durable:
            opts += " " + NON_DURABLE_OPTIONS
        proc = self._run(
            [
                self.bin_dir / "pg_ctl",
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                self.pgdata,
                "-l",
                self.logfile,
                "-o",
                opts,
            ],
            check=False,
        )
        if proc.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise EmbeddedError(
                f"PostgreSQL did not start on port {self.port}: {proc.stderr.strip()}\n{tail}"
            )

    def hba_secured(self) -> bool:
        hba = self.pgdata / "pg_hba.conf"
        return hba.exists() and HBA_MARKER in hba.read_text(encoding="utf-8", errors="replace")

    def _secure(self) -> None:
        """Make sure both roles exist with the stored passwords and pg_hba.conf asks for them.

        A data directory from an earlier version trusted every local connection and had no secrets:
        it gets passwords, the application role and our pg_hba.conf here (the password sent now is
        ignored while the old configuration trusts us), then PostgreSQL reloads its configuration."""
        import psycopg2

        upgrading = not self.hba_secured()
        if not upgrading and not self.secrets_path.exists():
            raise EmbeddedError(
                f"{self.secrets_path} is missing: it holds the passwords of the database in {self.pgdata}; "
                "restore it from a backup"
            )
        passwords = self._ensure_secrets()
        conn = self._connect("postgres", DB_SUPERUSER)
        try:
            conn.autocommit = True
            set_passwords(conn, passwords, upgrading)
            if upgrading:
                self._write_private(self.pgdata / "pg_hba.conf", HBA, for_server=True)
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_reload_conf()")
        finally:
            conn.close()
        if upgrading:  # the reload is asynchronous: wait until a password-less connection is refused
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    psycopg2.connect(
                        host="127.0.0.1", port=self.port, user=DB_SUPERUSER, dbname="postgres", password=""
                    ).close()
                except psycopg2.OperationalError:
                    break
                time.sleep(0.05)

    def stop(self, mode: str = "fast") -> None:
        if self.initialised() and self.running():
            self._run([self.bin_dir / "pg_ctl", "stop", "-w", "-m", mode, "-D", self.pgdata], check=False)

    # --- databases ---------------------------------------------------------------------------------------
    def _connect(self, database: str, role: str, timeout_s: float = 30) -> Any:
        """A psycopg2 connection as `role`, retried while the server is starting up."""
        import psycopg2

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return psycopg2.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=role,
                    password=self.password(role),
                    dbname=database,
                    connect_timeout=5,
                )
            except psycopg2.OperationalError as exc:
                if "password authentication failed" in str(exc):
                    raise EmbeddedError(
                        f"PostgreSQL in {self.pgdata} refuses the password of {role!r} stored in "
                        f"{self.secrets_path}; restore that file from a backup"
                    ) from exc
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def ensure_database(self, name: str, template: str | None = None) -> str:
        """Create database `name` (optionally from `template`) if missing, owned by the application
        role, with PostGIS installed; return its SQLAlchemy URL (as the application role)."""
        from psycopg2 import sql

        conn = self._connect("postgres", DB_SUPERUSER)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    stmt = sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(DB_APP_ROLE)
                    )
                    if template:
                        stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
                    cur.execute(stmt)
        finally:
            conn.close()
        self._hand_over(name)
        return self.url(name)

    def _hand_over(self, name: str) -> None:
        """Install the extensions the migrations need (only a superuser may) and give the application
        role the database and everything in its public schema — which, in a database made by an earlier
        version, the superuser owned. Objects that belong to an extension stay with the superuser."""
        conn = self._connect(name, DB_SUPERUSER)
        try:
            conn.autocommit = True
            hand_over(conn, name)
        finally:
            conn.close()


def cluster_from_settings(settings: object) -> EmbeddedCluster:
    from geo_grid.settings import Settings

    assert isinstance(settings, Settings)
    return EmbeddedCluster(
        data_dir=settings.data_dir.resolve(),
        port=settings.pg_port,
        bin_dir=find_pg_bin_dir(settings.pg_bin_dir),
        os_user=settings.pg_user,
    )
