"""FTE by status and % deleted for every grade, in natural order (Grade 4 before Grade 10)."""

from __future__ import annotations

from ..blocks import Block
from ..builder import Builder
from . import section


@section("by_grade", "By grade")
def by_grade(b: Builder) -> list[Block]:
    return [b.fte_table("grade", b.grade_rows, "grade", "Grade")]
