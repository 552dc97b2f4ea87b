"""impact: read, validate and total post-level redundancy schedules.

The library is in layers, each a subpackage, and each imports only from the
layers below it (an import-linter contract in pyproject.toml checks this):

    model      fields, measures, finding codes, findings, errors, formats
    intake     the guarded readers and the validation rules: `check()`
    figures    totals, comparison, privacy (small-number suppression)
    documents  what a briefing says, section by section, with no ReportLab
    render     one module per output library: pdf, xlsx, text, data (json/csv)
    store      the versioned store (SQLAlchemy), its paths and atomic files
    services   the use cases the CLI and any other front end call

    >>> from reports import check, summarise
    >>> report = check("data/derbyshire_early_help.xlsx")
    >>> summarise(report).headline
    '132.5 of 221.5 FTE (59.8%) proposed for deletion; ...'
"""

from __future__ import annotations

from .figures.totals import Summary, summarise
from .intake import Expectations, Limits, ReadOptions, Report, check, read, validate
from .model.errors import ImpactError, InvalidData
from .model.version import __version__

__all__ = ["check", "summarise", "read", "validate", "Report", "Summary", "ImpactError",
           "InvalidData", "ReadOptions", "Limits", "Expectations", "__version__"]
