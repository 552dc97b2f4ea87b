"""Data notes: what was excluded or assumed, in plain sentences."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ...model.findings import Finding
from ..blocks import Block, Text, clean, without_commands
from ..builder import Builder
from . import section


@section("data_notes", "Data notes")
def section_data_notes(b: Builder) -> list[Block]:
    return [Text(line, "bullet") for line in data_notes(b.s.warnings, b.s.info)]


_NOTE_WORDS = {
    "vacant-blank": "Vacant was blank, so the post was counted as occupied (at risk)",
    "cost-blank": "the annual cost was blank, so it was counted as £0",
    "cost-rounded": "the annual cost had fractions of a penny, which were rounded",
    "destination-unexpected": "a destination was given for a post that is not relocated; "
                              "it was ignored",
}

def data_notes(warnings: Sequence[Finding], infos: Sequence[Finding]) -> list[str]:
    """Plain sentences about what was excluded or assumed, grouped by finding code."""
    out: list[str] = []
    personal = [f for f in warnings if f.code == "personal-data"]
    if personal:
        names = ", ".join(f"\u201c{clean(f.column or '?', 60)}\u201d" for f in personal)
        n = len(personal)
        out.append(f"{n} personal-data column{'s were' if n != 1 else ' was'} dropped when the "
                   f"file was read ({names}); nothing from "
                   f"{'them' if n != 1 else 'it'} appears in this briefing.")
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for f in warnings:
        if f.code != "personal-data":
            by_code[f.code].append(f)
    for code, items in by_code.items():
        if code in _NOTE_WORDS:
            cells = [f"{clean(x.sheet or '', 40)}!{x.cell}" for x in items if x.cell]
            where = ""
            if cells:
                where = f" ({', '.join(cells[:5])}{f' and {len(cells) - 5:,} more' if len(cells) > 5 else ''})"
            n = len(items)
            out.append(f"{n:,} row{'s' if n != 1 else ''}: {_NOTE_WORDS[code]}{where}.")
        else:
            for x in items[:5]:
                out.append(clean(without_commands(x.message), 400))
            if len(items) > 5:
                out.append(f"\u2026 and {len(items) - 5:,} more like this ({code}).")
    for x in infos:
        line = clean(without_commands(x.message), 400)
        if line:
            out.append(line)
    if not out:
        out.append("The file passed every check with no warnings; nothing was excluded.")
    return out
