"""Every dated rule of redundancy pay and collective consultation, at its edge.

Each test is named after the rule it states and works its expected value out by hand
from the statute (or /work/shared/DOMAIN.md's statement of it), in the test, with the
arithmetic written out: Decimal weeks x the cap, days counted on the calendar.  None is
read back from the code's output.  The sources:

- Employment Rights Act 1996 (ERA) s.155 (2 years' service), s.162(2) (half a week a
  year under 22, one week 22 to 40, one and a half weeks at 41 and over, by the age at
  the start of each year), s.162(3) (at most 20 years), s.227 (the weekly cap, uprated
  each April by an Employment Rights (Increase of Limits) Order: £643 from 6 April 2023,
  £700 from 6 April 2024, £719 from 6 April 2025, £751 from 6 April 2026);
- SI 2006/2914 regs 5 and 6 (actual pay instead of the cap; at most 104 weeks);
- TULRCA 1992 s.188(1) and (1A) (20 or more at one establishment within 90 days; 30
  days' consultation, 45 for 100 or more), s.193 (HR1 within the same periods),
  s.189(4) (a protective award of at most 90 days' pay; 180 days for dismissals from
  6 April 2026, Employment Rights Act 2025).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.conftest import invoke, make_xlsx

D = Decimal

S188_COLS = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Location",
             "Establishment", "Dismissal date"]


def s188_row(posts: int, when: dt.date | None, establishment: str = "Hub",
             status: str = "Deleted", title: str = "Support Worker") -> list[Any]:
    return ["Family Support", title, "Grade 6", posts, posts, status, "N", establishment,
            establishment, when]


def s188_json(path: Path, *args: str) -> dict[str, Any]:
    out = invoke("s188", path, "--format", "json", *args)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


# --------------------------------------------------------------------------
# the protective award: TULRCA s.189(4), 180 days from 6 April 2026


def test_protective_award_maximum_is_worked_out_for_each_dismissal_date(tmp_path: Path
                                                                        ) -> None:
    # The example: 283 dismissals across the whole employer, one on 5 April 2026
    # (at most 90 days' pay) and 282 on or after 6 April 2026 (at most 180 days' pay).
    # Taking the first dismissal's maximum for everyone said "up to 90 days".
    path = make_xlsx(tmp_path, [S188_COLS,
                                s188_row(1, dt.date(2026, 4, 5), "North"),
                                s188_row(200, dt.date(2026, 4, 6), "North"),
                                s188_row(82, dt.date(2026, 5, 1), "South")])
    pack = s188_json(path, "--establishment", "establishment")
    assert 1 + 200 + 82 == 283
    award = [{"max_days": 90, "dismissals": 1, "first": "2026-04-05", "last": "2026-04-05",
              "undated": 0},
             {"max_days": 180, "dismissals": 200 + 82, "first": "2026-04-06",
              "last": "2026-05-01", "undated": 0}]
    assert pack["employer"]["protective_award"] == award
    assert pack["protective_award"] == award
    # no single maximum is claimed for dismissals that span the change
    assert pack["employer"]["protective_award_max_days"] is None
    assert pack["protective_award_max_days"] is None
    sites = {e["name"]: e for e in pack["establishments"]}
    # North spans the change: 1 at 90 days, 200 at 180; South is all after it
    assert [(a["max_days"], a["dismissals"]) for a in sites["North"]["protective_award"]] == \
        [(90, 1), (180, 200)]
    assert sites["North"]["protective_award_max_days"] is None
    assert [(a["max_days"], a["dismissals"]) for a in sites["South"]["protective_award"]] == \
        [(180, 82)]
    assert sites["South"]["protective_award_max_days"] == 180
    text = invoke("s188", path, "--establishment", "establishment").stdout
    assert "up to 90 days' pay for 1 dismissal (5 April 2026)" in text
    assert "up to 180 days' pay for 282 dismissals (6 April 2026 to 1 May 2026)" in text
    assert "North: up to 90 days' pay for 1 dismissal" in text
    # the union briefing states both figures too, for the employer and for North
    brief = briefing_text(path, "union")
    assert ("protective award of up to 90 days' pay for 1 dismissal (5 April 2026); up to "
            "180 days' pay for 282 dismissals (6 April 2026 to 1 May 2026)") in brief
    assert ("At North, the dismissals span that change: up to 90 days' pay for 1 dismissal "
            "(5 April 2026); up to 180 days' pay for 200 dismissals (6 April 2026)") in brief


def briefing_text(path: Path, audience: str) -> str:
    """The words of a briefing's HTML, tags dropped and spaces squashed."""
    import html
    import re

    import reports
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin
    from reports.render.html import render_html

    report = reports.check(path)
    b = make_briefing(report, reports.summarise(report), load_builtin(audience))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", render_html(b))).split())
