"""Issue 9, "Defects to fix": bad input and bad output paths end in one line, never a
traceback or "internal error", and nothing is written where it must not be."""

from __future__ import annotations

import errno
import gc
import json
import os
import sys
from pathlib import Path

import openpyxl
import pytest

from reports.documents.template import MAX_TEMPLATE_BYTES, load_template
from reports.model.errors import CannotWrite, TemplateError
from reports.render import text as render_text
from reports.render import xlsx as render_xlsx
from reports.services import monthly
from reports.store import files
from tests.conftest import HEADER, impact, invoke, make_csv, make_xlsx, post

# A Word soft line break, ESC (a terminal colour sequence) and SOH.
NASTY = "Fa\x01m\x0bily\x1b[31m"
SHOWN = "Fa\\x01m\\x0bily\\x1b[31m"


def _clean(proc) -> None:
    """No traceback, no "internal error", no "Exception ignored" on stderr."""
    for bad in ("Traceback", "internal error", "Exception ignored"):
        assert bad not in proc.stderr, proc.stderr


@pytest.fixture
def nasty_csv(tmp_path: Path) -> Path:
    return make_csv(tmp_path, [HEADER, post("P1", team=NASTY),
                               post("P2", team="Plain", status="Retained")], name="nasty.csv")


@pytest.fixture
def nasty_invalid_csv(tmp_path: Path) -> Path:
    return make_csv(tmp_path, [HEADER, post("P1", team=NASTY, fte=f"-1{NASTY}")],
                    name="nasty-invalid.csv")


def _strings(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return [c.value for ws in wb for row in ws.iter_rows() for c in row
            if isinstance(c.value, str)]


# --------------------------------------------------------------------------
# 1. control characters in written workbooks


def test_control_characters_are_shown_in_the_summary_workbook(nasty_csv, tmp_path):
    out = tmp_path / "s.xlsx"
    proc = impact("summary", nasty_csv, "--format", "xlsx", "-o", out)
    _clean(proc)
    assert proc.returncode == 0, proc.stderr
    assert SHOWN in _strings(out)


def test_control_characters_are_shown_in_the_annotated_copy(nasty_invalid_csv, tmp_path):
    out = tmp_path / "a.xlsx"
    proc = impact("validate", nasty_invalid_csv, "--annotate", out)
    _clean(proc)
    assert proc.returncode == 1
    cells = _strings(out)
    assert SHOWN in cells                                   # the copy of the CSV
    assert any(SHOWN in c for c in cells if c.startswith("-1"))   # the findings sheet


def test_control_characters_keep_json_valid(nasty_csv):
    proc = impact("summary", nasty_csv, "--format", "json")
    assert proc.returncode == 0
    assert NASTY in [g["team"] for g in json.loads(proc.stdout)["by_team"]]


def test_a_failed_write_only_workbook_leaves_no_exception_ignored(monkeypatch):
    """openpyxl's write-only sheets keep suspended generators; after an error they
    must be closed at once, not by the garbage collector (which prints "Exception
    ignored ... Traceback" on stderr)."""
    import io

    from reports.figures.totals import summarise
    from reports.intake import check
    from tests.conftest import sample

    summary = summarise(check(sample("coop_working.xlsx")))
    calls = {"n": 0}
    real = render_xlsx.cell_text

    def fail_later(value):
        calls["n"] += 1
        if calls["n"] > 40:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(value)

    monkeypatch.setattr(render_xlsx, "cell_text", fail_later)
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    with pytest.raises(OSError):
        render_xlsx.write_summary_xlsx(summary, io.BytesIO())
    gc.collect()
    assert seen == []


# --------------------------------------------------------------------------
# 2. terminal escapes


def test_text_output_shows_control_characters_escaped(nasty_csv, nasty_invalid_csv):
    summary = impact("summary", nasty_csv)
    assert "\x1b" not in summary.stdout and SHOWN in summary.stdout
    validate = impact("validate", nasty_invalid_csv)
    assert "\x1b" not in validate.stdout + validate.stderr
    assert "\\x1b" in validate.stdout


def test_printable():
    assert render_text.printable("a\x1b[2Jb\x9b\r\tc\nd") == "a\\x1b[2Jb\\x9b\\x0d\\x09c\nd"


def test_history_and_datasets_show_control_characters_escaped(nasty_csv, tmp_path):
    store = tmp_path / "store"
    named = nasty_csv.with_name("evil\x1b]0;owned\x07.csv")
    named.write_bytes(nasty_csv.read_bytes())
    assert invoke("upload", named, "--dataset", "d", "--store", store).exit_code == 0
    history = invoke("history", "d", "--store", store).output
    assert "\x1b" not in history and "evil\\x1b]0;owned\\x07.csv" in history
    assert "\x1b" not in invoke("datasets", "--store", store).output


def test_store_repair_lines_show_control_characters_escaped(nasty_csv, tmp_path):
    store = tmp_path / "store"
    named = nasty_csv.with_name("evil\x1b[2J.csv")
    named.write_bytes(nasty_csv.read_bytes())
    assert invoke("upload", named, "--dataset", "d", "--store", store).exit_code == 0
    for stored in (store / "files").rglob("*.csv"):
        stored.unlink()
    history = invoke("history", "d", "--store", store).output
    assert "Stored file missing" in history
    assert "\x1b" not in history and "evil\\x1b[2J.csv" in history
    again = invoke("upload", named, "--dataset", "d", "--store", store).output
    assert "restored from" in again and "\x1b" not in again


@pytest.mark.parametrize("option", ["--dataset", "--by", "--note"])
def test_names_and_notes_refuse_control_characters(nasty_csv, tmp_path, option):
    args = ["upload", nasty_csv, "--store", tmp_path / "store", "--dataset", "d"]
    result = invoke(*args, option, "x\x1b[31my", catch_exceptions=True)
    assert result.exit_code == 2
    assert "control character" in result.output
    assert not (tmp_path / "store").exists() or "x" not in invoke(
        "datasets", "--store", tmp_path / "store").output


# --------------------------------------------------------------------------
# 3. outputs never overwrite the input


@pytest.mark.parametrize("args", [
    ["summary", "{in}", "-o", "{out}"],
    ["summary", "{in}", "--format", "xlsx", "-o", "{out}"],
    ["summary", "{in}", "--format", "csv", "-o", "{out}"],
    ["validate", "{in}", "--annotate", "{out}"],
    ["brief", "{in}", "-o", "{out}"],
    ["compare", "{in}", "{in}", "-o", "{out}"],
])
@pytest.mark.parametrize("link", [False, True])
def test_no_command_writes_over_its_input(valid_xlsx, tmp_path, args, link):
    before = valid_xlsx.read_bytes()
    out = valid_xlsx
    if link:
        out = tmp_path / "link.xlsx"
        out.symlink_to(valid_xlsx)
    proc = impact(*[a.format(**{"in": valid_xlsx, "out": out}) for a in args])
    _clean(proc)
    assert proc.returncode == 2, proc.stderr
    assert "would overwrite the input" in proc.stderr
    assert valid_xlsx.read_bytes() == before
    assert not list(tmp_path.glob(".*.part"))


def test_brief_will_not_write_over_the_file_it_compares_with(valid_xlsx, tmp_path):
    old = make_xlsx(tmp_path, [HEADER, post("P1")], name="old.xlsx")
    result = invoke("brief", valid_xlsx, "--compare", old, "-o", old, catch_exceptions=True)
    assert result.exit_code == 2


# --------------------------------------------------------------------------
# 4. write errors


def test_a_write_error_is_one_line(valid_xlsx, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for fmt in ("text", "xlsx"):
        proc = impact("summary", valid_xlsx, "--format", fmt, "-o", blocker / "out.xlsx")
        _clean(proc)
        assert proc.returncode == 1
        assert proc.stderr == f"Error: cannot write {blocker / 'out.xlsx'}: Not a directory\n"
    proc = impact("validate", valid_xlsx, "--annotate", blocker / "x" / "a.xlsx")
    _clean(proc)
    assert proc.returncode == 1 and "Error: cannot write" in proc.stderr


@pytest.mark.parametrize("fmt", ["text", "xlsx"])
def test_a_full_disk_is_one_line(valid_xlsx, tmp_path, monkeypatch, fmt):
    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "replace", full)
    out = tmp_path / "out.xlsx"
    result = invoke("summary", valid_xlsx, "--format", fmt, "-o", out)
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {out}: No space left on device\n"
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


def test_atomic_output_raises_cannot_write(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(CannotWrite, match="Is a directory"):
        with files.atomic_output(tmp_path / "dir") as fh:
            fh.write(b"x")
    with pytest.raises(FileNotFoundError):    # an input's error is not a write error
        with files.atomic_output(tmp_path / "out") as fh:
            (tmp_path / "missing").read_bytes()



def test_an_output_that_is_a_pipe_or_device_is_written_in_place(tmp_path, valid_xlsx):
    """`-o /dev/null` once replaced the device with a plain file (a temporary file renamed
    over it).  A FIFO stands in for the device: it must still be a FIFO afterwards, and
    its reader gets what was written."""
    import stat

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)   # a reader, so a writer may open
    try:
        result = invoke("summary", valid_xlsx, "--format", "csv", "-o", fifo)
        assert result.exit_code == 0, result.output
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        written = os.read(reader, 1 << 16).decode("utf-8")
    finally:
        os.close(reader)
    assert written.startswith("# totals\n") and "deleted_fte" in written
    assert not list(tmp_path.glob(".*.part"))

def test_monthly_records_a_write_error_and_goes_on(tmp_path, monkeypatch):
    from tests.store_helpers import sample as store_sample

    store = tmp_path / "store"
    for name, src in (("a-first", "derbyshire_early_help.xlsx"), ("b-second",
                                                                   "coop_working.xlsx")):
        result = invoke("upload", store_sample(src), "--dataset", name, "--as-of", "2024-03-01",
                        "--store", store)
        assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    (out / "2024-03").mkdir(parents=True)
    (out / "2024-03" / "a-first").write_text("a file where the folder should be")
    result = invoke("monthly", "--month", "2024-03", "--store", store, "--out", out)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 2024-03: dataset 'a-first' failed: cannot write")
    m = json.loads((out / "2024-03" / "manifest.json").read_text())
    assert [f["dataset"] for f in m["failures"]] == ["a-first"]
    assert {e["dataset"]: e["status"] for e in m["datasets"]} == {"a-first": "failed",
                                                                  "b-second": "ok"}


# --------------------------------------------------------------------------
# 5. absurdly wide CSV files


def test_a_csv_wider_than_excel_is_refused_before_parsing(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(HEADER) + "," * 200_000 + "\n" + "P1,T,W,G,1,1,Deleted,\n")
    proc = impact("validate", wide)
    _clean(proc)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: wide.csv: a row near the top has 200,008 columns, "
                                  "over Excel's limit of 16,384")
    assert proc.stderr.count("\n") == 1


def test_a_wide_row_further_down_is_refused(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(HEADER) + "\n" + "P1,T,W,G,1,1,Deleted,\n" * 300
                    + "," * 20_000 + "\n")
    proc = impact("validate", wide)
    assert proc.returncode == 1 and "row 302 has 20,001 columns" in proc.stderr


# --------------------------------------------------------------------------
# 6. templates


def test_a_deeply_nested_template_is_not_valid_toml(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(TemplateError, match="not valid TOML"):
        load_template(deep)


@pytest.mark.parametrize("kind", ["device", "fifo", "folder", "large"])
def test_only_regular_templates_under_1_mib_are_read(tmp_path, kind):
    path = tmp_path / "t.toml"
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_text("# " + "x" * MAX_TEMPLATE_BYTES + "\n")
    with pytest.raises(TemplateError):
        load_template(path)


def test_a_fifo_template_does_not_hang_brief(valid_xlsx, tmp_path):
    fifo = tmp_path / "t.toml"
    os.mkfifo(fifo)
    proc = impact("brief", valid_xlsx, "--template", fifo, "-o", tmp_path / "b.pdf")
    _clean(proc)
    assert proc.returncode == 1 and "not a regular file" in proc.stderr


def test_monthly_reads_per_dataset_templates_the_same_way(tmp_path, monkeypatch):
    reads = []
    monkeypatch.setattr(monthly, "template_bytes",
                        lambda p: reads.append(p) or b'title = "x"\n')
    from reports.store.db import Store

    with Store.open(tmp_path / "store", create=True) as store:
        template, digest = monthly.Audience("union").template_for(store, "slug")
    assert template.title == "x" and reads and len(digest) == 64


# --------------------------------------------------------------------------
# 7. small ones


@pytest.mark.parametrize("args", [
    ["datasets", "--store", ""],
    ["monthly", "--out", ""],
    ["validate", "--dataset", "d", "--version", "99999999999999999999"],
    ["compare", "--dataset", "d", "--from", "99999999999999999999"],
    ["compare", "--dataset", "d", "--to", "99999999999999999999"],
    ["brief", "--dataset", "d", "--since-version", "99999999999999999999"],
    ["monthly", "--month", "0000-01"],
    ["monthly", "--month", "9999-12"],
    ["monthly", "--month", "1989-12"],
])
def test_out_of_range_options_are_usage_errors(tmp_path, args):
    proc = impact(*args, env={"IMPACT_STORE": str(tmp_path / "store")}, cwd=tmp_path)
    _clean(proc)
    assert proc.returncode == 2, proc.stderr
    assert list(tmp_path.iterdir()) == []        # no store, nothing made


@pytest.mark.parametrize("day", ["1989-12-31", "2999-01-01"])
def test_an_unlikely_as_of_date_needs_force_date(valid_xlsx, tmp_path, day):
    store = tmp_path / "store"
    result = invoke("upload", valid_xlsx, "--dataset", "d", "--as-of", day, "--store", store,
                    catch_exceptions=True)
    assert result.exit_code == 2 and "--force-date" in result.output
    result = invoke("upload", valid_xlsx, "--dataset", "d", "--as-of", day, "--force-date",
                    "--store", store)
    assert result.exit_code == 0, result.output


def test_monthly_never_follows_a_symlink_in_its_output_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / ".precious.part"
    victim.write_text("keep me")
    folder = tmp_path / "out" / "2024-03"
    folder.mkdir(parents=True)
    (folder / "linked").symlink_to(outside)
    (folder / ".named-like-a-part.part").symlink_to(victim)
    monthly._remove_partials(folder)
    assert victim.read_text() == "keep me"
    assert (folder / ".named-like-a-part.part").is_symlink()
    with pytest.raises(CannotWrite, match="symbolic link"):
        monthly._write(folder, folder / "linked" / "summary.json", b"{}", 0)
    assert sorted(p.name for p in outside.iterdir()) == [".precious.part"]


def test_monthly_refuses_a_month_folder_that_is_a_symlink(tmp_path):
    from reports.store.db import Store

    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "2024-03").symlink_to(outside)
    with Store.open(tmp_path / "store", create=True) as store, pytest.raises(CannotWrite):
        monthly.run_monthly(store, tmp_path / "out", monthly.Month(2024, 3))
    assert list(outside.iterdir()) == []


def test_right_to_left_text_and_emoji_do_not_break_the_pdf(tmp_path):
    from pypdf import PdfReader

    src = make_csv(tmp_path, [HEADER, post("P1", team="فريق الدعم الأسري 👪🏽"),
                              post("P2", team="שלום 😀", status="Retained")])
    out = tmp_path / "b.pdf"
    proc = impact("brief", src, "-o", out)
    _clean(proc)
    assert proc.returncode == 0, proc.stderr
    assert len(PdfReader(out).pages) >= 1


def test_a_pipe_whose_reader_has_gone_is_a_write_error(tmp_path):
    """Written in place, a pipe's errors are the output's own: one CannotWrite line, as
    for a full disk, not a traceback."""
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    with pytest.raises(CannotWrite, match="Broken pipe"):
        with files.atomic_output(fifo) as fh:
            os.close(reader)                 # the reader goes before anything is written
            fh.write(b"x" * 10)
            fh.flush()
    with pytest.raises(FileNotFoundError):    # an input's error is still not a write error
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            with files.atomic_output(fifo) as fh:
                (tmp_path / "missing").read_bytes()
        finally:
            os.close(reader)
