"""A throwaway PostgreSQL 15 server for the store's tests.

`pg_server` (session-scoped) runs `initdb` into a new folder under /tmp and starts
the server with `pg_ctl` on a free TCP port of 127.0.0.1 (its unix socket in that
folder too), with fsync off: nothing in it needs to outlive the run.  PostgreSQL
refuses to run as root, so as root both run as the `postgres` user (`runuser`),
and the folder belongs to that user.  `PgServer.new_database()` gives each test a
database of its own; the server is stopped and its folder removed at the end.

When the server cannot start, tests that need it fail if $CI is set (CI must run
them) and are skipped otherwise, saying why.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

VERSION = "15"
BIN_DIRS = [Path(os.environ["IMPACT_PG_BIN"])] if os.environ.get("IMPACT_PG_BIN") else []
BIN_DIRS.append(Path(f"/usr/lib/postgresql/{VERSION}/bin"))
SUPERUSER = "postgres"


def _bin_dir() -> Path:
    for folder in BIN_DIRS:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(f"PostgreSQL {VERSION} is not installed (no initdb in "
                       f"{', '.join(map(str, BIN_DIRS))} or on PATH); install it with "
                       f"apt-get install -y postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One PostgreSQL server in a temporary folder, run as `postgres` when we are root."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="impact-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        if self.as_root:
            shutil.chown(self.dir, user=SUPERUSER, group=SUPERUSER)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", SUPERUSER, "--"] if self.as_root else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True,
                              timeout=timeout, check=False, cwd=self.dir)

    def _must(self, *args: str) -> None:
        done = self._run(*args)
        if done.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-1500:]}\n{tail}")

    def start(self) -> None:
        self._must(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                   "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   f"-c max_connections=200")
        self._must(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                   "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = SUPERUSER) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg  # only the PostgreSQL tests need the driver directly

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             dbname=SUPERUSER, autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> tuple[str, str]:
        """A new, empty database: (its name, its URL).  It sorts text as English does
        (ICU 'en-US', where 'é' comes before 'z'), as a production database often does,
        so that a listing that relied on the server's order would show it; a server
        built without ICU gives one with its own default order."""
        import psycopg  # only the PostgreSQL tests need the driver directly

        name = f"impact_test_{next(self._names)}"
        try:
            self._admin(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu "
                        f"ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
        except psycopg.Error:
            self._admin(f'CREATE DATABASE "{name}"')
        return name, self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unavailable(reason: str) -> NoReturn:
    """Fail under CI, where PostgreSQL must run; skip elsewhere, saying why."""
    message = f"PostgreSQL {VERSION} could not be started: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so the PostgreSQL tests fail rather than skip)",
                    pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = PgServer()
    except (RuntimeError, OSError, LookupError) as e:
        unavailable(str(e))
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        server.stop()
        unavailable(str(e))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    name, url = pg_server.new_database()
    try:
        yield url
    finally:
        pg_server.drop_database(name)
