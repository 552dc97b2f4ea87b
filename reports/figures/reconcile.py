"""Check the employer's published figures against its own schedule, and explain a
difference where the posts explain it.

A claim is a measure key and a value ("deleted_fte = 130").  Each is compared
with the figure worked out from the validated posts; when they differ, these
explanations are tried in order, and every one that fits is given:

1. vacant posts counted as at risk, or the other way round;
2. relocated posts counted as deleted;
3. posts counted instead of FTE (or FTE instead of posts);
4. a Total or Sub-total row in the file that disagrees with its rows;
5. a single team's or site's figure: one that equals the claim ("this is Early Help
   North's figure, not the whole schedule's"), or one that equals the gap;
6. a number on a sheet that holds no posts (a Notes sheet) that equals the claim,
   named by its sheet, its cell and the words that say what it counts ("twelve stay
   open"; see `intake.figures`);
7. rounding;

else "no explanation found".  `closing_sites` is the number of locations whose
future FTE is 0 (see `sites`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..intake.rules import Report
from ..model import codes, measures
from ..model.findings import Findings
from ..model.formats import fmt_number, natural
from .pools import pools
from .s188 import s188_pack
from .totals import NOT_GIVEN, Summary, summarise

NO_EXPLANATION = "no explanation found"
# Findings that leave the posts themselves sound: reconcile reads past them (and may
# find that they explain a claim).
TOTALS_ROWS = (codes.TOTAL_MISMATCH.id, codes.SUBTOTAL_MISMATCH.id)
ALIASES = {"annual_saving": "net_saving"}
_ROUNDING = {measures.FTE: ("0.1", "1", "10"), measures.POSTS: ("10",),
             measures.MONEY: ("1", "100", "1000", "10000", "100000", "1000000"),
             measures.PERCENT: ("1", "10")}
_FIELD_OF_UNIT = {measures.FTE: "fte", measures.POSTS: "posts", measures.MONEY: "annual_cost"}


@dataclass
class Claim:
    measure: str
    claimed: Decimal
    published: str = ""          # where the claim was published


@dataclass
class Checked:
    claim: Claim
    computed: Decimal | int | None
    explanations: list[str] = field(default_factory=list)

    @property
    def difference(self) -> Decimal | None:
        if self.computed is None:
            return None
        return self.claim.claimed - Decimal(self.computed)

    @property
    def matches(self) -> bool:
        return self.computed is not None and self.difference == 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"measure": self.claim.measure, "claimed": self.claim.claimed,
                               "computed": self.computed, "difference": self.difference,
                               "matches": self.matches, "explanations": self.explanations}
        if self.claim.published:
            out["published"] = self.claim.published
        return out


@dataclass
class Sites:
    closing: list[dict[str, Any]]
    continuing: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"closing": self.closing, "continuing": self.continuing}


@dataclass
class Reconciliation:
    checked: list[Checked]
    sites: Sites

    @property
    def all_match(self) -> bool:
        return all(c.matches for c in self.checked)

    def to_dict(self) -> dict[str, Any]:
        return {"claims": [c.to_dict() for c in self.checked], "sites": self.sites.to_dict()}


def claim_key(measure: str) -> str:
    """A claim's measure key: a registered one (or an alias of one); ValueError if not."""
    key = ALIASES.get(measure, measure)      # annual_saving is net_saving by definition
    if not measures.known(key):
        raise ValueError(f"unknown measure {measure!r}; the measures are: "
                         f"{', '.join(measures.keys())}")
    return key


def parse_value(text: Any) -> Decimal:
    """A claimed figure: 132.5, "132.5", "£5,242,253", "59.8%"; ValueError if not one."""
    cleaned = str(text).strip().replace(",", "").replace("£", "").removesuffix("%").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


def readable(report: Report) -> Report:
    """The report with Total / Sub-total mismatches set aside (reconcile reads past them:
    they say nothing against the posts themselves)."""
    kept = Findings([f for f in report.findings if f.code not in TOTALS_ROWS])
    return dataclasses.replace(report, findings=kept)


def sites(summary: Summary, report: Report) -> Sites:
    """Locations whose future FTE is 0 (closing) and the rest, with their site type."""
    posts = report.posts
    types: dict[str, str] = {}
    for loc, kind in zip(posts["location"].astype(str), posts["site_type"].astype(str)):
        if kind and loc not in types:
            types[loc] = kind
    closing: list[dict[str, Any]] = []
    continuing: list[dict[str, Any]] = []
    for g in summary.groups["by_location"]:
        if g["location"] == NOT_GIVEN:
            continue
        row = {"location": g["location"], "site_type": types.get(g["location"]),
               "baseline_fte": g["baseline_fte"], "future_fte": g["future_fte"]}
        (closing if g["future_fte"] == 0 and g["baseline_fte"] > 0 else continuing).append(row)
    return Sites(closing, continuing)


def reconcile(report: Report, claims: list[Claim]) -> Reconciliation:
    """Each claim beside the schedule's own figure, and what explains any difference.
    `report` may carry Total / Sub-total mismatches; no other errors."""
    clean = readable(report)
    summary = summarise(clean)
    found = sites(summary, clean)
    computed: dict[str, Any] = dict(summary.totals)
    wanted = {c.measure for c in claims}
    if "proposed_dismissals" in wanted:
        computed["proposed_dismissals"] = s188_pack(clean).employer.total_dismissals
    if wanted & {"people_in_affected_pools", "redeployment_posts_available"}:
        p = pools(clean)
        computed["people_in_affected_pools"] = p.people_in_affected_pools
        computed["redeployment_posts_available"] = p.redeployment_posts_available
    computed["closing_sites"] = len(found.closing)
    out = []
    for claim in claims:
        value = computed.get(claim.measure)
        checked = Checked(claim, value)
        if value is None:
            checked.explanations = [_not_available(claim.measure)]
        elif not checked.matches:
            checked.explanations = _explain(claim, value, computed, summary, report,
                                            found) or [NO_EXPLANATION]
        out.append(checked)
    return Reconciliation(out, found)


def _not_available(key: str) -> str:
    needs = measures.get(key).needs
    what = {"vacant": "a Vacant column", "cost": "an Annual cost column"}
    names = [what.get(n, f"the figures of impact {n}")
             for n in ((needs,) if isinstance(needs, str) else needs or ())]
    return (f"the file cannot give this figure: it needs {' and '.join(names)}"
            if names else "the file cannot give this figure")


def _txt(key: str, value: Any) -> str:
    return measures.text(key, value)


def _explain(claim: Claim, value: Any, t: dict[str, Any], summary: Summary, report: Report,
             found: Sites) -> list[str]:
    key, c = claim.measure, claim.claimed
    gap = c - Decimal(value)
    unit = measures.unit_of(key)
    out: list[str] = []

    def same(other: str) -> bool:
        return t.get(other) is not None and Decimal(t[other]) == c

    # the measure's family: at_risk / vacant_deleted / deleted, by unit suffix
    suffix = next((s for s in ("_fte", "_posts", "_cost") if key.endswith(s)), None)
    if key == "proposed_dismissals":
        stem, suffix = "at_risk", "_posts"
    else:
        stem = key.removesuffix(suffix) if suffix else key
    # 1. vacant counted as at risk, or the other way round
    if suffix:
        d, a, v = f"deleted{suffix}", f"at_risk{suffix}", f"vacant_deleted{suffix}"
        if stem == "at_risk" and same(d):
            out.append(f"the claim counts vacant deleted posts as at risk: it equals all "
                       f"deleted posts ({_txt(d, t[d])}), of which {_txt(v, t[v])} are vacant")
        elif stem == "at_risk" and same(v):
            out.append("the claim gives the vacant deleted posts as at risk: the two figures "
                       "are swapped")
        elif stem == "vacant_deleted" and same(d):
            out.append(f"the claim counts occupied deleted posts as vacant: it equals all "
                       f"deleted posts ({_txt(d, t[d])})")
        elif stem == "vacant_deleted" and same(a):
            out.append("the claim gives the occupied (at-risk) posts as vacant: the two "
                       "figures are swapped")
        elif stem == "deleted" and same(a):
            out.append(f"the claim leaves out the vacant deleted posts: it equals the occupied "
                       f"ones only ({_txt(a, t[a])}; {_txt(v, t[v])} more are vacant)")
    # 2. relocated counted as deleted
    if suffix and stem in ("deleted", "at_risk"):
        r = f"relocated{suffix}"
        if t.get(r) and Decimal(t[r]) == gap:
            out.append(f"the claim counts the relocated posts ({_txt(r, t[r])}) as deleted; "
                       f"they move to another service")
    if key == "net_saving" and t.get("relocated_cost") and Decimal(t["relocated_cost"]) == gap:
        out.append(f"the claim counts the cost of relocated posts "
                   f"({_txt('relocated_cost', t['relocated_cost'])}) as saved; it moves to "
                   f"another service with them")
    # 3. posts counted instead of FTE, or FTE instead of posts
    if key.endswith("_fte") and same(measures.posts_for(key)):
        out.append(f"the claim counts posts ({fmt_number(c)}) instead of FTE "
                   f"({_txt(key, value)})")
    if key.endswith("_posts") and same(key.removesuffix("_posts") + "_fte"):
        out.append(f"the claim counts FTE ({fmt_number(c)}) instead of posts "
                   f"({fmt_number(value)})")
    if key == "proposed_dismissals" and same("at_risk_fte") and t["at_risk_fte"] != value:
        out.append(f"the claim counts the FTE of the occupied deleted posts ({fmt_number(c)}) "
                   f"instead of the people in them ({fmt_number(value)})")
    # 4. a totals row that disagrees with its rows
    out.extend(_totals_rows(unit, c, report))
    # 5. a single team's or site's figure: equal to the claim, or to the gap
    if key in summary.totals:
        for group, label, col in (("by_team", "team", "team"), ("by_location", "site",
                                                                 "location")):
            for g in summary.groups[group]:
                figure, name = g.get(key), g[col]
                if figure is None or name == NOT_GIVEN:
                    continue
                if Decimal(figure) == c:
                    out.append(f"this is {name}'s figure, not the whole schedule's: the "
                               f"{label} '{name}' has {_txt(key, figure)}, the whole "
                               f"schedule {_txt(key, value)}")
                if gap and Decimal(figure) == abs(gap):
                    verb = "counts twice or adds" if gap > 0 else "leaves out"
                    out.append(f"the gap ({fmt_number(abs(gap))}) equals {label} '{name}''s "
                               f"figure: the claim {verb} that {label}")
    # 6. a number on a sheet that holds no posts
    what = measures.get(key).label
    for fig in report.workbook.figures:
        if fig.value == c:
            says = (f'reads "{fig.says}"; that counts what those words say, not'
                    if fig.says else "has no words beside it to say what it counts; it is not")
            out.append(f"the claim equals a number on sheet '{fig.sheet}', which holds no "
                       f"posts: cell {fig.cell} {says} the schedule's "
                       f"{what[:1].lower() + what[1:]}")
    if key == "closing_sites":
        kinds: dict[str, int] = {}
        for s in found.closing:
            if s["site_type"]:
                kinds[s["site_type"]] = kinds.get(s["site_type"], 0) + 1
        for kind, n in sorted(kinds.items(), key=lambda kv: natural(kv[0])):
            if n == c and n != len(found.closing):
                out.append(f"the claim counts only sites of type '{kind}' ({n} of "
                           f"{len(found.closing)} closing)")
    # 7. rounding
    for step in _ROUNDING.get(unit or "", ()):
        q = Decimal(step)
        rounded = (Decimal(value) / q).quantize(Decimal(1), rounding=ROUND_HALF_UP) * q
        if rounded == c:
            out.append(f"rounding: {_txt(key, value)} rounds to {_txt(key, c)} "
                       f"(to the nearest {_txt(key, q)})")
            break
    return out


def _totals_rows(unit: str | None, claimed: Decimal, report: Report) -> list[str]:
    fld = _FIELD_OF_UNIT.get(unit or "")
    if fld is None:
        return []
    headers = {t.sheet: t.headers for t in report.workbook.tables}
    out = []
    for f in report.findings:
        if f.code not in TOTALS_ROWS or f.value is None:
            continue
        if headers.get(f.sheet or "", {}).get(fld) != f.column:
            continue
        try:
            given = parse_value(f.value)
        except ValueError:
            continue
        if given == claimed:
            out.append(f"the claim equals the {'Sub-total' if f.code == codes.SUBTOTAL_MISMATCH.id else 'Total'} "
                       f"row at '{f.sheet}'!{f.cell} ({f.value}), which disagrees with the "
                       f"rows it totals")
    return out
