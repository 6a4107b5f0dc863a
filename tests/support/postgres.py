"""A throwaway PostgreSQL cluster: initdb in a temp dir, pg_ctl on a free loopback port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


def find_pg_bin() -> Path | None:
    candidates = [os.environ.get("ASSMAT_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresCluster:
    base_url: str
    data_dir: Path | None = None
    bin_dir: Path | None = None
    run_as: str | None = None
    _owned: bool = field(default=False)

    @classmethod
    def external(cls, url: str) -> "PostgresCluster":
        return cls(base_url=url.rstrip("/"))

    @classmethod
    def start(cls, bin_dir: Path, work_dir: Path) -> "PostgresCluster":
        # initdb refuses to run as root: run the server as the `postgres` system user then.
        run_as = "postgres" if os.geteuid() == 0 else None
        data_dir = work_dir / "data"
        socket_dir = work_dir / "sock"
        data_dir.mkdir()
        socket_dir.mkdir()
        if run_as:
            user = pwd.getpwnam(run_as)
            for path in (work_dir, data_dir, socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        port = free_port()
        cluster = cls(f"postgresql://postgres@127.0.0.1:{port}", data_dir, bin_dir, run_as, True)
        cluster._run("initdb", "-D", str(data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        cluster._run("pg_ctl", "-D", str(data_dir), "-o", options, "-w", "-t", "60", "-l", str(work_dir / "log"), "start")
        return cluster

    def _run(self, program: str, *args: str) -> None:
        assert self.bin_dir is not None
        command = [str(self.bin_dir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd="/")

    def stop(self) -> None:
        if self._owned and self.data_dir is not None:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return str(make_url(self.base_url).set(database=database).render_as_string(hide_password=False))

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(sql)

    def create_database(self, name: str, template: str | None = None) -> None:
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
