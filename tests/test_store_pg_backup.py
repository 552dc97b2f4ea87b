"""A PostgreSQL store's backup, restored onto a fresh database and an empty folder, gives
the same `store check` result and the same outputs (issue: many servers, one store).

A backup carries the database's tables (the versions, the build queue, the publication
ledger, the accounts) and every stored original; it does not carry the built files:
they are made again, byte for byte, from those (the builds are reproducible, and the
public ones see the same ledger).  The restored build queue says "done" for files the
new database lacks, so the first download builds each again (`builds.fetch`)."""

from __future__ import annotations

import re
from pathlib import Path

from reports.services import builds, datasets
from reports.store.db import Store, Version
from reports.store.jobs import DONE, FAILED, Jobs

from .conftest import invoke
from .pg import PgServer
from .portal_helpers import AS_OF, DATA

DATASET = "Derbyshire early help"


def _outputs(folder: Path, url: str, version: Version) -> dict[str, bytes]:
    """Every output of `version` as a download gets it (built in this thread when it is
    not there yet); a refused public output as its reason."""
    got: dict[str, bytes] = {}
    with Store(folder, url=url, lock=None) as store:
        for name in builds.outputs_of(version, None):
            fetched = builds.fetch(store, None, version, name)
            if fetched.failed is not None:
                got[name] = fetched.failed.encode()
            else:
                assert fetched.path is not None, name
                got[name] = fetched.path.read_bytes()
    return got


def _check(folder: Path, url: str) -> str:
    result = invoke("store", "check", "--store", folder, "--db", url)
    assert result.exit_code == 0, result.output
    return re.sub(r"Store at \S+", "Store at FOLDER", result.stdout)


def test_a_backup_restored_onto_a_fresh_database_checks_the_same_and_gives_the_same_outputs(
        pg_server: PgServer, tmp_path: Path) -> None:
    _, url = pg_server.new_database()
    first = tmp_path / "first"
    with Store(first, url=url) as store:
        stored = datasets.upload(store, DATA / "derbyshire_early_help.xlsx", DATASET,
                                 as_of=AS_OF, by="a test")
        assert stored.version is not None
        version = stored.version
    before = _outputs(first, url, version)
    assert len(before) == len(builds.outputs_of(version, None)) > 10
    with Store(first, url=url, lock=None) as store:
        jobs = Jobs(store).of_version(version.dataset, version.number, version.sha256)
    assert {j.state for j in jobs.values()} <= {DONE, FAILED} and jobs
    assert invoke("store", "backup", tmp_path / "backup", "--store", first,
                  "--db", url).exit_code == 0

    _, fresh = pg_server.new_database()
    second = tmp_path / "second"                  # an empty folder: nothing is cached
    result = invoke("store", "restore", tmp_path / "backup", "--store", second, "--db", fresh)
    assert result.exit_code == 0, result.output
    assert not (second / builds.OUTPUTS_DIR).exists()
    assert _check(second, fresh) == _check(first, url)
    with Store(second, url=fresh, lock=None) as store:
        restored = store.version(DATASET, 1)
        # the new database holds no built file: each one below is made again
        assert not any(store.fetch_output(restored, name, tmp_path / "probe")
                       for name in before)
    assert (restored.sha256, restored.totals) == (version.sha256, version.totals)
    after = _outputs(second, fresh, restored)
    assert sorted(after) == sorted(before)
    for name in before:
        assert after[name] == before[name], name
