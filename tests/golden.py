"""Golden copies of what every command prints and writes for the samples.

The files under tests/golden/ were written by the code *before* the
architecture rewrite (issue 7), and `test_golden.py` checks that today's code
still produces them byte for byte: summaries (text, JSON, CSV), validation
output (text, JSON), the text of every audience's briefing (pypdf, page by
page) and the comparison of two versions (text, JSON, CSV, and a briefing
with its "What changed" section).

Regenerate only on purpose, when an output is meant to change:

    python -m tests.golden --write
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner
from pypdf import PdfReader

import cli as cli_module

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
GOLDEN = Path(__file__).resolve().parent / "golden"

VALID_SAMPLES = ("derbyshire_early_help.xlsx", "coop_working.xlsx", "coop_working.csv",
                 "coop_working_cp1252_semicolon.csv")
SAMPLES = VALID_SAMPLES + ("broken_example.xlsx",)
AUDIENCES = ("union", "management", "public")
_SHA = re.compile(r"\b[0-9a-f]{12,64}\b")


def _run(args: list[str]) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli_module.cli, args, catch_exceptions=False,
                           env={"SOURCE_DATE_EPOCH": None, "IMPACT_STORE": None})
    return result.exit_code, result.stdout, result.stderr


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "".join(f"--- page {i} ---\n{page.extract_text()}\n"
                   for i, page in enumerate(reader.pages, 1))


def _brief(args: list[str], tmp: Path, name: str) -> str:
    out = tmp / f"{name}.pdf"
    # the ReportLab PDF for every audience (public is tagged by default; the tagged PDF is
    # checked by structure and content in test_accessible.py, not against a copy)
    code, stdout, stderr = _run(["brief", *args, "--reproducible", "--no-accessible", "-o",
                                 str(out)])
    body = pdf_text(out.read_bytes()) if out.exists() else ""
    text = f"exit {code}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}{body}"
    return text.replace(str(tmp), "<tmp>")


def xlsx_text(path: Path) -> str:
    """Every sheet's cells, with their number formats, as lines of text."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    out = []
    for ws in wb.worksheets:
        out.append(f"--- sheet {ws.title} ---")
        for row in ws.iter_rows():
            out.append(" | ".join(f"{c.value!r}:{c.number_format}:{c.data_type}"
                                  for c in row))
    return "\n".join(out) + "\n"


def produce(tmp: Path) -> Iterator[tuple[str, str]]:
    """(golden file name, text) for every output that is kept as a golden copy."""
    for sample in SAMPLES:
        path = str(DATA / sample)
        for fmt in ("text", "json"):
            code, stdout, stderr = _run(["validate", path, "--format", fmt])
            yield (f"{sample}.validate.{fmt}",
                   f"exit {code}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}")
        for fmt in ("text", "json", "csv"):
            code, stdout, stderr = _run(["summary", path, "--format", fmt])
            yield (f"{sample}.summary.{fmt}",
                   f"exit {code}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}")
        if sample in VALID_SAMPLES:
            out = tmp / f"{sample}.summary.xlsx"
            code, stdout, stderr = _run(["summary", path, "--format", "xlsx", "-o", str(out)])
            text = f"exit {code}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
            yield (f"{sample}.summary.xlsx.txt",
                   text.replace(str(tmp), "<tmp>") + xlsx_text(out))
            for audience in AUDIENCES:
                yield (f"{sample}.brief-{audience}.txt",
                       _brief([path, "--audience", audience], tmp, f"{sample}-{audience}"))
    # two versions of the Derbyshire sample: three retained posts moved to deleted
    from tests.store_helpers import make_version_2

    v1 = DATA / "derbyshire_early_help.xlsx"
    v2 = tmp / "derbyshire_v2.xlsx"
    make_version_2(v1, v2)
    for fmt in ("text", "json", "csv"):
        code, stdout, stderr = _run(["compare", str(v1), str(v2), "--format", fmt])
        text = f"exit {code}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
        yield f"compare-v1-v2.{fmt}", _SHA.sub("<sha256>", text)
    for audience in AUDIENCES:
        text = _brief([str(v2), "--audience", audience, "--compare", str(v1)], tmp,
                      f"v2-{audience}")
        yield f"compare-v1-v2.brief-{audience}.txt", _SHA.sub("<sha256>", text)


def main(argv: list[str]) -> int:
    import tempfile

    if argv != ["--write"]:
        print(__doc__)
        return 2
    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in produce(Path(tmp)):
            (GOLDEN / name).write_text(text, encoding="utf-8")
            print(f"wrote tests/golden/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
