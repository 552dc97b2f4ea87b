"""The upload workflow as a service (issue 26), without Flask: holding a file, the
mapping step's questions and answers, the outcomes, the profile the choices become,
and clean-up.  The portal's pages over it are in test_portal_mapping.py."""

from __future__ import annotations

import io
import json
import os
import stat
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from reports.model.errors import ImpactError
from reports.services import datasets, uploads
from reports.services.profiles import profile_of
from reports.services.source import HowToRead
from reports.store.db import Store
from tests.conftest import make_csv, make_xlsx
from tests.portal_helpers import DATA
from tests.test_read_choices import ODD_HEADER, ODD_ROWS, odd_rows

AS_OF = date(2024, 3, 1)
GOOD = ["Team", "Job title", "Grade", "FTE", "Status"]


@pytest.fixture()
def store(tmp_path: Path):
    with Store(tmp_path / "store") as s:
        yield s


def hold(store: Store, path: Path, dataset: str = "Chart", user: str = "hr") -> uploads.Held:
    with open(path, "rb") as fh:
        return uploads.hold(store, fh, path.name, dataset, as_of=AS_OF, note="n", user=user)


def odd_file(tmp_path: Path) -> Path:
    return make_xlsx(tmp_path, odd_rows(), name="chart.xlsx")


def fte_of(result: uploads.UploadResult | datasets.UploadResult) -> Decimal:
    assert result.version is not None
    return Decimal(str(result.version.totals["baseline_fte"]))


def test_a_held_file_is_private_and_found_only_by_its_user(store, tmp_path):
    held = hold(store, make_csv(tmp_path, [GOOD, ["A", "B", "G1", "1", "Deleted"]]))
    assert stat.S_IMODE(held.path.stat().st_mode) == 0o600
    assert uploads.find(store, held.token, "hr") is not None
    assert uploads.find(store, held.token, "union") is None
    assert uploads.find(store, "../" + held.token, "hr") is None
    assert uploads.find(store, "short", "hr") is None


def test_a_file_name_that_is_not_a_spreadsheet_is_refused(store):
    with pytest.raises(ImpactError):
        uploads.hold(store, io.BytesIO(b"x"), "notes.txt", "D", as_of=AS_OF, note="",
                     user="hr")
    with pytest.raises(ImpactError):
        uploads.dataset_name("  ")
    with pytest.raises(ImpactError):
        uploads.check_as_of(date(1989, 12, 31))
    uploads.check_as_of(date(2024, 1, 1), today=date(2024, 1, 1))


def test_a_valid_file_is_stored_and_its_hold_removed(store, tmp_path):
    rows = [["A", "Clerk", "G4", "1", "Deleted"], ["A", "Officer", "G5", "0.5", "Retained"]]
    held = hold(store, make_csv(tmp_path, [GOOD, *rows]), "Good")
    seen: list[tuple[str, str]] = []
    result = uploads.check_and_store(store, held, by="hr",
                                     record=lambda a, w: seen.append((a, w)))
    assert result.outcome == uploads.STORED
    assert fte_of(result) == Decimal("1.5")
    assert not held.folder.exists()
    assert [a for a, _ in seen] == ["upload"]
    again = uploads.check_and_store(store, hold(store, make_csv(tmp_path, [GOOD, *rows]),
                                                "Good"), by="hr")
    assert again.outcome == uploads.DUPLICATE
    assert again.version.number == 1


def test_errors_in_the_data_are_invalid_with_findings(store):
    held = hold(store, DATA / "broken_example.xlsx", "Broken")
    result = uploads.check_and_store(store, held, by="hr")
    assert result.outcome == uploads.INVALID
    assert result.findings is not None and result.findings.errors > 0
    assert result.annotated and held.annotated() is not None
    assert held.findings_file() is not None
    assert store.datasets() == []


def test_a_file_that_cannot_be_read_is_refused_and_not_held(store, tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a workbook")
    held = hold(store, bad)
    result = uploads.check_and_store(store, held, by="hr")
    assert result.outcome == uploads.REFUSED and result.problem
    assert result.held is None and not held.folder.exists()


def test_no_header_row_asks_for_it_with_the_likeliest_chosen_and_its_columns(
        store, tmp_path):
    held = hold(store, odd_file(tmp_path))
    result = uploads.check_and_store(store, held, by="hr")
    assert result.outcome == uploads.NEEDS_MAPPING
    step = result.step
    assert step is not None and not step.header_found
    chosen = [h for h in step.headers if h.chosen]
    assert [(h.row, h.cells) for h in chosen] == [(3, tuple(ODD_HEADER))]
    assert [c.heading for c in step.unknown] == ODD_HEADER
    # a near miss is pre-selected; the others are ignored until chosen
    assert {c.heading: c.chosen for c in step.unknown}["Role name"] == "title"
    assert {c.heading: c.chosen for c in step.unknown}["Month"] == "ignore"
    assert ("Month", "2024-01") in step.filters and ("Month", "2024-02") in step.filters


def _answer_columns(step: uploads.MappingStep, **fields: str) -> uploads.Choices:
    chosen = {h.value for h in step.headers if h.chosen}.pop()
    return uploads.Choices(header=chosen, shown=step.shown,
                           columns={c.heading: fields.get(c.heading, c.chosen)
                                    for c in step.unknown},
                           read_as={c.heading: c.read_as for c in step.unknown})


def test_the_whole_mapping_by_choices_stores_the_file_and_saves_the_profile(
        store, tmp_path):
    held = hold(store, odd_file(tmp_path))
    first = uploads.check_and_store(store, held, by="hr")
    assert first.step is not None
    second = uploads.choose(store, held, _answer_columns(
        first.step, **{"Section": "team", "Pay level": "grade", "Hours share": "fte",
                       "Plan": "status", "Month": "ignore"}), by="hr")
    # the columns are read now; the status words are asked next
    assert second.outcome == uploads.NEEDS_MAPPING, second.problem
    assert second.step is not None and second.step.header_found
    assert sorted(w.word for w in second.step.statuses) == ["goes", "stays"]
    third = uploads.choose(store, held, uploads.Choices(
        statuses={"stays": "retained", "goes": "deleted"}), by="hr")
    assert third.outcome == uploads.STORED, third.step
    assert fte_of(third) == sum(Decimal(r[3]) for r in ODD_ROWS)
    assert Decimal(str(third.version.totals["deleted_fte"])) == Decimal("0.5")
    saved = profile_of(store, "Chart")
    assert saved is not None and saved.header_row == 3
    assert "Month=ignore" in saved.mapping and "Role name=title" in saved.mapping
    assert set(saved.status_map) == {"stays=retained", "goes=deleted"}
    # the next upload of that layout asks nothing
    again = make_xlsx(tmp_path, [*odd_rows(), ["Payroll", "Clerk", "G3", "1", "goes",
                                               "2024-02"]], name="chart2.xlsx")
    fourth = uploads.check_and_store(store, hold(store, again), by="hr")
    assert fourth.outcome == uploads.STORED
    assert fte_of(fourth) == sum(Decimal(r[3]) for r in ODD_ROWS) + 1


def test_column_answers_for_another_header_row_are_not_applied(store, tmp_path):
    held = hold(store, odd_file(tmp_path))
    step = uploads.check_and_store(store, held, by="hr").step
    assert step is not None
    other = next(h for h in step.headers if not h.chosen)
    choices = _answer_columns(step, Section="team")
    choices = uploads.Choices(header=other.value, shown=choices.shown,
                              columns=choices.columns, read_as=choices.read_as)
    uploads.choose(store, held, choices, by="hr")
    held = uploads.find(store, held.token, "hr")
    assert held is not None
    assert held.how.header_row == other.row and held.how.mapping == ()


def test_default_status_one_post_per_row_and_filter_are_applied(store, tmp_path):
    path = make_csv(tmp_path, [["Team", "Job title", "Grade", "FTE", "Month"],
                               ["A", "Clerk", "G4", "1", "Jan"],
                               ["A", "Clerk", "G4", "1", "Feb"],
                               ["A", "Officer", "G5", "0.5", "Feb"]])
    held = hold(store, path, "Org")
    first = uploads.check_and_store(store, held, by="hr")
    assert first.outcome == uploads.NEEDS_MAPPING
    assert first.step is not None and first.step.missing == ["status"]
    assert ("Month", "Feb") in first.step.filters
    result = uploads.choose(store, held, uploads.Choices(
        default_status="retained", one_post_per_row=True, where="Month=Feb"), by="hr")
    assert result.outcome == uploads.STORED, result.findings
    assert fte_of(result) == Decimal("1.5")          # Feb's rows only: 1 + 0.5
    saved = profile_of(store, "Org")
    assert saved == HowToRead(default_status="retained", one_post_per_row=True,
                              where=("Month=Feb",))


@pytest.mark.parametrize("choices", [
    uploads.Choices(columns={"X": "salary; drop"}),
    uploads.Choices(statuses={"x": "fired"}),
    uploads.Choices(default_status="maybe"),
    uploads.Choices(header="../etc:Posts"),
])
def test_an_answer_never_offered_is_refused(store, tmp_path, choices):
    held = hold(store, odd_file(tmp_path))
    with pytest.raises(uploads.BadChoice):
        uploads.choose(store, held, choices, by="hr")


def test_old_holds_are_removed(store, tmp_path):
    held = hold(store, odd_file(tmp_path))
    old = 10 * uploads.PENDING_KEEP_S
    os.utime(held.folder, (held.folder.stat().st_atime - old,
                           held.folder.stat().st_mtime - old))
    uploads.pending_root(store)
    assert not held.folder.exists()


def test_what_is_held_says_only_the_choices(store, tmp_path):
    held = hold(store, odd_file(tmp_path))
    meta = json.loads((held.folder / uploads.META).read_text("utf-8"))
    assert meta["dataset"] == "Chart" and meta["user"] == "hr"
    assert meta["original"] == "chart.xlsx"


def test_the_cli_upload_stores_finds_or_gives_the_report(store, tmp_path):
    rows = [["A", "Clerk", "G4", "1", "Deleted"]]
    path = make_csv(tmp_path, [GOOD, *rows])
    first = uploads.upload_file(store, path, "Cli", as_of=AS_OF, by="me", note="",
                                how=HowToRead())
    assert first.ok and first.value is not None and first.value.created
    assert first.value.version.number == 1
    again = uploads.upload_file(store, path, "Cli", as_of=AS_OF, by="me", note="",
                                how=HowToRead())
    assert again.value is not None and not again.value.created     # the same bytes
    assert again.value.version.number == 1
    words = make_csv(tmp_path, [GOOD, ["A", "Clerk", "G4", "1", "Maybe"]], name="w.csv")
    asks = uploads.upload_file(store, words, "Cli", as_of=AS_OF, by="me", note="",
                               how=HowToRead())
    assert not asks.ok and asks.value is None
    assert [f.code for f in asks.report.findings.errors] == ["status-unknown"]
    assert [v.number for v in store.versions("Cli")] == [1]      # nothing stored


def test_a_choice_keeps_the_profile_s_earlier_choices(store, tmp_path):
    header = ["Team", "Job title", "Grade", "Share of a week", "Status"]
    first = make_csv(tmp_path, [header, ["A", "Clerk", "G4", "1", "Deleted"]])
    result = uploads.upload_file(store, first, "Kept", as_of=AS_OF, by="me", note="",
                                 how=HowToRead(mapping=("Share of a week=fte",)))
    assert result.value is not None and result.value.created
    second = make_csv(tmp_path, [[*header, "Remarks"], ["A", "Clerk", "G4", "1", "Deleted", ""],
                                 ["A", "Officer", "G5", "0.5", "Maybe", "x"]], name="two.csv")
    held = hold(store, second, "Kept")
    asked = uploads.check_and_store(store, held, by="hr")
    assert asked.outcome == uploads.NEEDS_MAPPING
    assert asked.step is not None and not asked.step.missing     # FTE read, as saved
    done = uploads.choose(store, held, uploads.Choices(
        statuses={"Maybe": "deleted"}, columns={"Remarks": "ignore"}), by="hr")
    assert done.outcome == uploads.STORED
    assert fte_of(done) == Decimal("1.5")
    saved = profile_of(store, "Kept")
    assert saved is not None
    assert saved.mapping == ("Share of a week=fte", "Remarks=ignore")
    assert saved.status_map == ("Maybe=deleted",)


def test_a_saved_filter_that_keeps_no_row_is_asked_again(store, tmp_path):
    header = ["Team", "Job title", "Grade", "FTE", "Status", "Month"]
    jan = make_csv(tmp_path, [header, ["A", "Clerk", "G4", "1", "Deleted", "Jan"],
                              ["A", "Clerk", "G4", "1", "Deleted", "Feb"]])
    first = uploads.upload_file(store, jan, "Months", as_of=AS_OF, by="me", note="",
                                how=HowToRead(where=("Month=Jan",)))
    assert first.value is not None and first.value.created and fte_of(first.value) == 1
    later = make_csv(tmp_path, [header, ["A", "Clerk", "G4", "1", "Deleted", "Mar"],
                                ["A", "Officer", "G5", "0.5", "Retained", "Apr"]],
                     name="later.csv")
    held = hold(store, later, "Months")
    asked = uploads.check_and_store(store, held, by="hr")
    assert asked.outcome == uploads.NEEDS_MAPPING and asked.problem
    # said in words, with what the column holds, never as the command line's option
    assert asked.problem.startswith("The filter on rows keeps none of this file's 2 rows")
    assert "Month holds Mar, Apr" in asked.problem and "--" not in asked.problem
    assert asked.step is not None and asked.step.header_found
    assert asked.step.where == "Month=Jan"
    assert ("Month", "Apr") in asked.step.filters
    done = uploads.choose(store, held, uploads.Choices(where=""), by="hr")
    assert done.outcome == uploads.STORED
    assert fte_of(done) == Decimal("1.5")
    saved = profile_of(store, "Months")
    assert saved is not None and saved.where == ()


def test_no_column_is_pre_selected_as_a_field_another_column_holds(store, tmp_path):
    """A senior organogram: 'Unit' is read as the team, so 'Job/Team Function' (whose
    words suggest a team too) is not pre-selected as the team; choosing only the default
    status the page asks for stores the file, the job share as one post."""
    from tests.test_real_files_26 import senior_rows

    rows = senior_rows()
    held = hold(store, make_csv(tmp_path, rows, name="senior.csv"), "Senior")
    asked = uploads.check_and_store(store, held, by="hr")
    assert asked.outcome == uploads.NEEDS_MAPPING and asked.step is not None
    holds = {c.read_as for c in asked.step.known}
    assert "team" in holds
    for c in asked.step.unknown:
        assert c.chosen not in holds, (c.heading, c.chosen)
    # what a browser posts: every select as pre-selected, and the default status chosen
    done = uploads.choose(store, held, uploads.Choices(
        default_status="retained", columns={c.heading: c.chosen for c in asked.step.unknown},
        read_as={c.heading: c.read_as for c in asked.step.unknown}), by="hr")
    assert done.outcome == uploads.STORED, done.report and [
        (f.code, f.message) for f in done.report.findings.errors]
    assert done.version is not None
    assert done.version.totals["baseline_posts"] == len({r[0] for r in rows[1:]})
