"""Files a command writes besides briefings: text and CSV output, the summary workbook,
the annotated copy and the blank template.  Every one is written atomically."""

from __future__ import annotations

from pathlib import Path

from ..figures.totals import Summary
from ..intake.rules import Report
from ..model.errors import UsageProblem
from ..store.files import atomic_output


def refuse_input(output: Path | None, *inputs: Path | None, option: str = "-o") -> None:
    """`UsageProblem` if `output` is one of the `inputs`: the same path once resolved
    (so a symlink to the input counts), or the same file by another name (a hard link).
    Nothing is written over the schedule a command reads."""
    if output is None:
        return
    out = Path(output).resolve()
    for given in inputs:
        if given is None:
            continue
        inp = Path(given).resolve()
        same = out == inp
        if not same and out.exists() and inp.exists():
            try:
                same = out.samefile(inp)
            except OSError:
                same = False
        if same:
            raise UsageProblem(f"{option} {output} would overwrite the input file {given}")


def write_text(path: Path, text: str) -> None:
    with atomic_output(path, "w") as fh:
        fh.write(text)


def save_summary_xlsx(summary: Summary, path: Path) -> None:
    from ..render.xlsx import write_summary_xlsx  # start-up: openpyxl, only for a workbook

    with atomic_output(path) as fh:
        write_summary_xlsx(summary, fh)


def save_annotated(report: Report, path: Path, perms: int | None = None) -> None:
    """A copy of the input with every faulty cell filled and commented (with mode
    `perms`, else the umask's)."""
    from ..render.xlsx import annotate_copy  # start-up: openpyxl, only for a workbook

    with atomic_output(path, perms=perms) as fh:
        annotate_copy(report, fh, keep_vba=path.suffix.lower() == ".xlsm")


def save_blank_template(path: Path, *, force: bool = False) -> None:
    """The blank input workbook; an existing file is kept unless `force`."""
    from ..render.xlsx import write_template  # start-up: openpyxl, only for a workbook

    if path.exists() and not force:
        raise UsageProblem(f"{path} already exists; use --force to overwrite it")
    with atomic_output(path) as fh:
        write_template(fh)
