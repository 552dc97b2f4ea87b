"""Fatal problems: a file that cannot be read at all.

Findings about the data (a negative FTE, an unknown status) are not
exceptions: they are `Finding` records (see `reports.model.findings`).  These
exceptions are for whole-file problems only, and every one of them carries
a one-line message that says what to do.  The CLI maps the base class to
that line and exit code 1.
"""

from __future__ import annotations

from typing import Any

from .fixes import Fixes


class ImpactError(Exception):
    """A problem that stops the whole file being read; the message says what to do, in
    plain words, and `fixes` the reading options that would put it right, if any (the
    CLI prints them as options, the portal in words: `reports.render.fixes`)."""

    def __init__(self, *args: object, fixes: Fixes = ()) -> None:
        super().__init__(*args)
        self.fixes = fixes

    # how far the file was read: each sheet's rows that may be its header row and its
    # columns (`intake.tables.Layout`), when a file was read but not as it stands, so
    # that a front end can ask which row is the header (NoHeaderRow, EmptyFile)
    layouts: tuple[Any, ...] = ()


class NotASpreadsheet(ImpactError):
    "The file is not an xlsx, xlsm or csv spreadsheet."


class UnsupportedFormat(ImpactError):
    "A real spreadsheet format this tool does not read (.xls, .ods)."


class CorruptFile(ImpactError):
    "The file is damaged or truncated."


class PasswordProtected(ImpactError):
    "The workbook is encrypted with a password."


class TooLarge(ImpactError):
    "The file, or a part of it once decompressed, is over a size limit."


class AbsurdRange(ImpactError):
    "A sheet's used range is far larger than any real schedule."


class NoHeaderRow(ImpactError):
    "No sheet has a recognisable header row."


class EmptyFile(ImpactError):
    "The file, or every sheet in it, holds no data."


class BadEncoding(ImpactError):
    "A CSV file cannot be decoded with the encoding given."


class UsageProblem(ImpactError):
    "An option given to the tool cannot be used (an unknown field in --map, a missing sheet)."


class InvalidData(ImpactError):
    "The file was read but has errors, so it cannot be summarised or briefed."

    def __init__(self, report: object, message: str = "the file has errors") -> None:
        super().__init__(message)
        self.report = report


class CannotWrite(ImpactError):
    "An output file cannot be written: no permission, a full disk, a read-only file system."

    def __init__(self, path: object, error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.errno = error.errno


class TemplateError(ImpactError):
    "A briefing template cannot be used: bad TOML, or an unknown key, section or placeholder."


class StoreError(ImpactError):
    "The store cannot be opened or written, or a stored file is missing or damaged."


class UnknownDataset(StoreError):
    "No dataset, or no such version of one, is in the store."


class PostsNotGiven(ImpactError):
    """A figure that counts posts or people, asked of a file with no Posts column."""


class Unpublishable(ImpactError):
    "No safe pattern of hidden figures exists for a public output, so it is not written."
