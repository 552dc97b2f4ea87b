"""Edges the other tests do not pin down.

- The public briefing's small-number threshold is strict: a count equal to the
  threshold is printed as it is; only counts under it are hidden ("[c]").
- `impact monthly` trusts an existing output only when its sha256 still matches the
  manifest: a damaged file (even one of the same size and mtime) is rebuilt, and a
  month whose files are intact is not rewritten.

Expected figures are worked out here, from the rows the tests write and from
templates/public.toml, not from the code under test.
"""

from __future__ import annotations

import io
import json
import os
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result
from pypdf import PdfReader

from . import store_helpers as helpers
from .conftest import HEADER, ROOT, invoke, make_xlsx, post
from .store_helpers import DATASET, sha256, snapshot

# fixtures from store_helpers (pytest finds them by their names here)
derbyshire_v1 = helpers.derbyshire_v1
fresh_store = helpers.fresh_store
isolated_store_env = helpers.isolated_store_env


# --------------------------------------------------------------------------
# the public briefing: a count equal to the threshold is shown


def public_threshold() -> int:
    with (ROOT / "templates" / "public.toml").open("rb") as f:
        return int(tomllib.load(f)["privacy"]["small_number_threshold"])


def by_team_rows(text: str, teams: list[str]) -> dict[str, list[str]]:
    """The cells of each team's row in the "By team" table, as pypdf reads them (one cell a
    line): baseline, deleted, retained, relocated, created and future FTE, then % deleted."""
    lines = text[text.index("\nBy team\n"):].splitlines()
    rows = {}
    for team in teams:
        at = lines.index(team)
        rows[team] = lines[at + 1:at + 8]
    return rows


def test_public_briefing_shows_a_count_equal_to_the_threshold(tmp_path: Path) -> None:
    threshold = public_threshold()
    assert threshold == 5, "templates/public.toml's threshold changed; check this test's story"
    at_threshold, under, also_under = "Alpha Team", "Beta Team", "Gamma Team"
    # Deleted posts of 1.0 FTE each: exactly the threshold in one team, under it in two.
    # Two teams under it, not one: with one, the column total minus the other teams would
    # reveal it, and the smallest other team (the one at the threshold) would be hidden as
    # "[c]" for that reason alone.  Each team also keeps 4 x threshold FTE (two rows).
    deleted = {at_threshold: threshold, under: threshold - 1, also_under: threshold - 2}
    retained = 4 * threshold
    rows: list[list[object]] = [HEADER]
    for team, n in deleted.items():
        for _ in range(n):
            rows.append(post(f"P{len(rows)}", team=team, fte=1, posts=1, status="Deleted"))
        for _ in range(2):
            rows.append(post(f"P{len(rows)}", team=team, title="Family Worker",
                             fte=retained // 2, posts=retained // 2, status="Retained"))
    path = make_xlsx(tmp_path, rows, name="threshold.xlsx")
    out = tmp_path / "out.pdf"

    # the ReportLab briefing, whose table cells pypdf reads one a line (the tagged one has
    # the same cells: tests/test_accessible.py)
    result = invoke("brief", path, "--audience", "public", "--no-accessible", "-o", out)

    assert result.exit_code == 0, result.output
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(out.read_bytes()))
                     .pages)
    rows_read = by_team_rows(text, list(deleted))
    small = "[c]"          # every hidden value has the one marker
    baseline = threshold + retained
    pct = (Decimal(threshold) * 100 / baseline).quantize(Decimal("0.1"))
    assert rows_read[at_threshold] == [str(baseline), str(threshold), str(retained), "0", "0",
                                       str(retained), f"{pct}%"]
    for team in (under, also_under):
        assert rows_read[team][1] == small
        assert str(deleted[team]) not in rows_read[team]
    # the whole-file figures are all well above the threshold, so the headline shows them
    total_deleted = sum(deleted.values())
    total_baseline = total_deleted + retained * len(deleted)
    assert (f"would cut {total_deleted} of {total_baseline} full-time-equivalent jobs"
            in " ".join(text.split()))


# --------------------------------------------------------------------------
# impact monthly: a damaged output is rebuilt, an intact month is left alone


MONTH = "2024-03"


def monthly(store: Path, out: Path) -> Result:
    return helpers.invoke("monthly", "--month", MONTH, "--store", store, "--out", out)


def append_a_byte(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"\n")


def same_size_and_mtime(path: Path) -> None:
    """Other bytes of the same length, with the file's mtime put back: only a hash sees it."""
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(data[:-8] + bytes(b ^ 0xFF for b in data[-8:]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


@pytest.mark.parametrize(("name", "damage"), [("summary.json", append_a_byte),
                                              ("briefing-union.pdf", same_size_and_mtime)])
def test_monthly_rerun_rebuilds_a_damaged_output(fresh_store: Path, derbyshire_v1: Path,
                                                 tmp_path: Path, name: str,
                                                 damage: Callable[[Path], None]) -> None:
    up = helpers.invoke("upload", derbyshire_v1, "--dataset", DATASET, "--store", fresh_store,
                        "--as-of", "2024-03-01")
    assert up.exit_code == 0, up.output
    out = tmp_path / "reports"
    first = monthly(fresh_store, out)
    assert first.exit_code == 0, first.output
    month = out / MONTH
    written = snapshot(month)
    listed = {f["path"]: f["sha256"]
              for f in json.loads((month / "manifest.json").read_text())["datasets"][0]["files"]}
    target = f"{DATASET}/{name}"
    assert listed[target] == written[target][1]

    # intact: nothing is rewritten, and the run says so
    intact = monthly(fresh_store, out)
    assert intact.exit_code == 0, intact.output
    assert intact.stdout.startswith(f"{MONTH} is already complete in ")
    assert "nothing rewritten" in intact.stdout
    assert snapshot(month) == written

    # damaged: the run notices by the sha256 and rebuilds the file, byte for byte
    damage(month / target)
    assert sha256(month / target) != listed[target]
    rebuilt = monthly(fresh_store, out)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "already complete" not in rebuilt.stdout
    assert rebuilt.stdout.startswith(f"{MONTH}: 1 dataset(s) written")
    manifest = json.loads((month / "manifest.json").read_text())
    assert manifest["complete"] is True
    now_listed = {f["path"]: f["sha256"] for f in manifest["datasets"][0]["files"]}
    assert sha256(month / target) == now_listed[target] == listed[target]
    after = snapshot(month)
    assert {k: v[1] for k, v in after.items() if k != "manifest.json"} == {
        k: v[1] for k, v in written.items() if k != "manifest.json"}

    # and then it is complete again
    again = monthly(fresh_store, out)
    assert again.stdout.startswith(f"{MONTH} is already complete in ")
    assert snapshot(month) == after
