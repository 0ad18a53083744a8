"""The embedded local PostgreSQL + PostGIS cluster that geo_grid manages itself (zero-config default).

PostgreSQL refuses to run as root, so when we are root the cluster runs as an unprivileged OS user
(default `postgres`), which must own the data directory and be able to reach it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DB_SUPERUSER = "geo_grid"


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
    """A PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port` only, trust auth for loopback."""

    data_dir: Path
    port: int
    bin_dir: Path
    os_user: str = "postgres"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://{DB_SUPERUSER}@127.0.0.1:{self.port}/{database}"

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

    def _prepare_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self._as_owner():
            return
        try:
            owner = pwd.getpwnam(self.os_user)
        except KeyError as exc:
            raise EmbeddedError(
                f"running as root but OS user {self.os_user!r} does not exist; PostgreSQL refuses root. "
                "Install postgresql-15 (creates `postgres`) or set GEO_GRID_PG_USER"
            ) from exc
        os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        probe = self._run(["test", "-w", str(self.data_dir)], check=False)
        if probe.returncode != 0:
            raise EmbeddedError(
                f"OS user {self.os_user!r} cannot reach {self.data_dir} (a parent directory is not "
                "traversable); set GEO_GRID_DATA_DIR to a directory it can reach, e.g. /var/tmp/geo_grid"
            )

    # --- lifecycle ---------------------------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        self._prepare_dir()
        if self.initialised():
            return
        self._run(
            [
                self.bin_dir / "initdb",
                "-D",
                self.pgdata,
                "-U",
                DB_SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )

    def running(self) -> bool:
        return self._run([self.bin_dir / "pg_ctl", "status", "-D", self.pgdata], check=False).returncode == 0

    def start(self) -> None:
        self.init()
        if self.running():
            return
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
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

    def stop(self, mode: str = "fast") -> None:
        if self.initialised() and self.running():
            self._run([self.bin_dir / "pg_ctl", "stop", "-w", "-m", mode, "-D", self.pgdata], check=False)

    def ensure_database(self, name: str, template: str | None = None) -> str:
        """Create database `name` (optionally from `template`) if missing; return its SQLAlchemy URL."""
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(
                    host="127.0.0.1", port=self.port, user=DB_SUPERUSER, dbname="postgres"
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                tpl = f' TEMPLATE "{template}"' if template else ""
                cur.execute(f'CREATE DATABASE "{name}"{tpl}')
        conn.close()
        return self.url(name)


def cluster_from_settings(settings: object) -> EmbeddedCluster:
    from geo_grid.settings import Settings

    assert isinstance(settings, Settings)
    return EmbeddedCluster(
        data_dir=settings.data_dir.resolve(),
        port=settings.pg_port,
        bin_dir=find_pg_bin_dir(settings.pg_bin_dir),
        os_user=settings.pg_user,
    )
