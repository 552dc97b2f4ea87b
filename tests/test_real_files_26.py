"""Real files that still needed editing (issue 26, items 1, 3, 4, 6, 7 and 9), each tried on
a small file built here like the real one: a senior organogram with a job share, a council
structure chart with no FTE and "NA" vacancies, an NHS-style extract with two months
stacked, and an HR file with compound status words.

Every expected figure is worked out here from the rows written (with Decimal), never
copied from impact's output.
"""

from __future__ import annotations

import pytest

import reports
from tests.conftest import make_xlsx

# --------------------------------------------------------------------------
# item 4: "NA", "N/A", "n/a", "-" and "—" are blank wherever a blank is allowed


@pytest.mark.parametrize("word", ["NA", "N/A", "n/a", "-", "\u2014"])
def test_na_words_are_blank_where_a_blank_is_allowed(tmp_path, word):
    rows = [["Team", "Job title", "Grade", "FTE", "Vacant", "Destination", "Notes", "Status"],
            ["Parks", "Ranger", "Grade 4", 1, word, word, word, "Deleted"],
            ["Parks", "Gardener", "Grade 3", 1, "N", word, word, "Retained"],
            ["Libraries", "Librarian", "Grade 5", 0.5, "Y", "Leisure Trust", word,
             "Relocated"]]
    report = reports.check(make_xlsx(tmp_path, rows))
    assert report.valid, [(f.code, f.cell, f.message) for f in report.findings.errors]
    # the NA vacancy is a blank: counted as occupied, with the blank's own warning
    assert [(f.code, f.cell) for f in report.findings.warnings] == [("vacant-blank", "E2")]
    posts = report.posts
    assert list(posts["destination"]) == ["", "", "Leisure Trust"]
    assert list(posts["vacant"]) == [None, False, True]
