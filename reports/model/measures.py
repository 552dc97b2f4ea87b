"""The measures registry: every figure `impact` reports, in one place.

A `Measure` has a key (``deleted_fte``), a unit (FTE, posts, money or
percent), its labels, what it needs from the file (a Vacant or Annual cost
column), and how it is worked out: summed from the post rows, or derived
from other measures.  Totals, exports, templates' placeholders, the
comparison, the briefing and the store's saved totals all read it from here,
so a new figure is one `register` call, with its relations to other figures (a money
figure's `counts`, `sum_of`, `signed`: what the briefing's disclosure audit needs):

    register(Measure("part_time_posts", POSTS, "Part-time posts",
                     rows=lambda r: r.count(r.fte < FTE_SCALE * r.posts)))

Figures are exact: FTE is summed as whole millionths and money as whole
hundredths (int), posts as counts, and they only leave as `Decimal` through
`value()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from .fields import STATUSES
from .formats import fmt_money, fmt_number, fte_value, hundredths, percent

FTE = "fte"
POSTS = "posts"
MONEY = "money"
PERCENT = "percent"
MONTHS = "months"          # a Decimal number of months (payback)
RATIO = "ratio"            # a Decimal ratio or probability (retention ratio, p-value)
UNITS = (FTE, POSTS, MONEY, PERCENT, MONTHS, RATIO)

VACANT = "vacant"          # needs a Vacant column on every sheet
COST = "cost"              # needs an Annual cost column on every sheet

BASELINE_STATUSES = ("deleted", "retained", "relocated")     # the establishment today
FUTURE_STATUSES = ("retained", "created")                    # what the service keeps


@dataclass(frozen=True)
class Rows:
    """The post rows, as arrays, for a measure's `rows` function.

    `fte` is whole millionths and `cost` whole hundredths; `vacant` is True only where the file
    says the post is vacant (blank counts as occupied).
    """

    status: np.ndarray
    fte: np.ndarray
    posts: np.ndarray
    vacant: np.ndarray
    cost: np.ndarray
    _of: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def where(self, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.where(mask, values, 0)

    def count(self, mask: np.ndarray) -> np.ndarray:
        """Posts on the rows where `mask` holds."""
        return np.where(mask, self.posts, 0)

    def of(self, status: str) -> np.ndarray:
        """Which rows have `status` (worked out once per status: a dozen measures ask)."""
        if status not in self._of:
            self._of[status] = self.status == status
        return self._of[status]


@dataclass(frozen=True)
class Measure:
    """One figure: what it is called, its unit, and how it is worked out."""

    key: str
    unit: str
    label: str                                   # "Deleted FTE": tables of figures by key
    needs: str | tuple[str, ...] | None = None   # VACANT, COST, both, or None
    rows: Callable[[Rows], np.ndarray] | None = None          # summed from the post rows
    derive: Callable[[Mapping[str, int]], Any] | None = None  # from other measures' sums
    labels: Mapping[str, str] = field(default_factory=dict)   # per-surface wording
    computed_by: str | None = None     # a figures module that works it out over the whole
    #                                    schedule (s.188, pools, sites): not in the totals
    # Its relations to other measures, which the briefing's disclosure audit reads
    # (`reports.documents.builder`; a relation to a figure the file does not give is left
    # out there):
    counts: tuple[str, ...] = ()       # money only: the FTE and posts of the same posts; it
    #                                    is hidden with any of them ("money follows counts")
    sum_of: tuple[str, ...] = ()       # it is the sum of these (when the file gives them all)
    signed: tuple[tuple[str, int], ...] = ()   # it is the sum of coefficient x measure

    def label_for(self, surface: str) -> str:
        """The label on one surface ("short": table columns), else the general one."""
        return self.labels.get(surface, self.label)

    def value(self, raw: Any) -> Any:
        """A summed or derived raw figure as it is reported: FTE and money as Decimal."""
        if raw is None or self.unit in (POSTS, PERCENT, MONTHS, RATIO):
            return raw
        return fte_value(raw) if self.unit == FTE else hundredths(raw)

    def text(self, value: Any) -> str:
        """The figure for people: £ for money, % for a percentage; a marker as it is."""
        if isinstance(value, str):
            return value
        if value is None and self.unit == POSTS:
            return "not given"
        if self.unit == MONEY:
            return fmt_money(value)
        if self.unit == PERCENT:
            return "–" if value is None else f"{value}%"
        return fmt_number(value)

    def exact(self, value: Any) -> Any:
        """A stored JSON number back to an exact figure (the store's saved totals)."""
        if value is None or self.unit == POSTS:
            return value
        places = Decimal("0.1") if self.unit == PERCENT else Decimal("0.01")
        exact = Decimal(str(value))
        if self.unit == FTE and exact.quantize(places) != exact:
            return exact.quantize(Decimal("0.000001"))      # FTE to 6 places
        return exact.quantize(places)

    def available(self, has: Iterable[str]) -> bool:
        if self.computed_by:
            return False
        present = set(has)
        needs = (self.needs,) if isinstance(self.needs, str) else self.needs or ()
        return all(n in present for n in needs)


def _status(status: str, unit: str) -> Callable[[Rows], np.ndarray]:
    if unit == FTE:
        return lambda r: r.where(r.of(status), r.fte)
    return lambda r: r.count(r.of(status))


def _sum(*keys: str) -> Callable[[Mapping[str, int]], int]:
    return lambda raw: sum(raw[k] for k in keys)


_REGISTRY: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    """Add a measure (at the end of the order).  Raises ValueError for a taken key."""
    if measure.key in _REGISTRY:
        raise ValueError(f"measure {measure.key!r} is already registered")
    if measure.unit not in UNITS:
        raise ValueError(f"measure {measure.key!r} has unknown unit {measure.unit!r}")
    if measure.computed_by is None and (measure.rows is None) == (measure.derive is None):
        raise ValueError(f"measure {measure.key!r} needs exactly one of rows= and derive=")
    if measure.counts and measure.unit != MONEY:
        raise ValueError(f"measure {measure.key!r}: only a money measure follows counts")
    _REGISTRY[measure.key] = measure
    return measure


def unregister(key: str) -> None:
    """Remove a measure (tests that add a made-up one take it away again)."""
    _REGISTRY.pop(key, None)


_WORDS = {"deleted": "Deleted", "retained": "Retained", "relocated": "Relocated",
          "created": "Created"}
# Surfaces with their own wording: "short" (a column of a table by team or grade),
# "row" (a row of the text summary's totals, FTE beside posts) and "key_figures" (a row
# of the briefing's key-figures table).
_KEY_FIGURES = {"deleted": "Deleted", "retained": "Retained",
                "relocated": "Relocated to another service", "created": "Created (new posts)"}

# Deleted posts are the occupied ones (at risk) and the vacant ones, when the file says
# which are vacant.
_DELETED_PARTS = {u: (f"at_risk_{u}", f"vacant_deleted_{u}") for u in ("fte", "posts")}

for _s in STATUSES:
    register(Measure(f"{_s}_fte", FTE, f"{_WORDS[_s]} FTE", rows=_status(_s, FTE),
                     labels={"short": _WORDS[_s], "row": _WORDS[_s],
                             "key_figures": _KEY_FIGURES[_s]},
                     sum_of=_DELETED_PARTS["fte"] if _s == "deleted" else ()))
for _s in STATUSES:
    register(Measure(f"{_s}_posts", POSTS, f"{_WORDS[_s]} posts", rows=_status(_s, POSTS),
                     sum_of=_DELETED_PARTS["posts"] if _s == "deleted" else ()))
register(Measure("baseline_fte", FTE, "Baseline FTE",
                 derive=_sum(*(f"{s}_fte" for s in BASELINE_STATUSES)),
                 labels={"row": "Baseline (deleted + retained + relocated)",
                         "key_figures": "Baseline today (deleted + retained + relocated)"}))
register(Measure("future_fte", FTE, "Future FTE",
                 derive=_sum(*(f"{s}_fte" for s in FUTURE_STATUSES)),
                 labels={"row": "Future (retained + created)",
                         "key_figures": "Future (retained + created)"}))
register(Measure("baseline_posts", POSTS, "Baseline posts",
                 derive=_sum(*(f"{s}_posts" for s in BASELINE_STATUSES))))
register(Measure("future_posts", POSTS, "Future posts",
                 derive=_sum(*(f"{s}_posts" for s in FUTURE_STATUSES))))
register(Measure("pct_deleted", PERCENT, "% of baseline deleted",
                 derive=lambda raw: percent(raw["deleted_fte"], raw["deleted_fte"]
                                            + raw["retained_fte"] + raw["relocated_fte"]),
                 labels={"short": "% deleted", "key_figures": "% of baseline FTE deleted"}))
register(Measure("at_risk_fte", FTE, "Occupied posts deleted (FTE)", needs=VACANT,
                 rows=lambda r: r.where(r.of("deleted") & ~r.vacant, r.fte),
                 labels={"short": "Occupied", "row": "Deleted and occupied (at risk)",
                         "key_figures": "Occupied posts deleted (people at risk)"}))
register(Measure("at_risk_posts", POSTS, "Occupied posts deleted", needs=VACANT,
                 labels={"table": "Occupied deleted"},
                 rows=lambda r: r.count(r.of("deleted") & ~r.vacant)))
register(Measure("vacant_deleted_fte", FTE, "Vacant deleted FTE", needs=VACANT,
                 rows=lambda r: r.where(r.of("deleted") & r.vacant, r.fte),
                 labels={"short": "Vacant del.", "row": "Deleted and vacant",
                         "key_figures": "Deleted and vacant"}))
register(Measure("vacant_deleted_posts", POSTS, "Vacant deleted posts", needs=VACANT,
                 labels={"table": "Vacant deleted"},
                 rows=lambda r: r.count(r.of("deleted") & r.vacant)))
register(Measure("deleted_cost", MONEY, "Annual cost of deleted posts", needs=COST,
                 labels={"table": "Cost of deleted"},
                 counts=("deleted_fte", "deleted_posts"),
                 sum_of=("at_risk_cost", "vacant_deleted_cost"),
                 rows=lambda r: r.where(r.of("deleted"), r.cost)))
register(Measure("created_cost", MONEY, "Annual cost of new posts", needs=COST,
                 counts=("created_fte", "created_posts"),
                 rows=lambda r: r.where(r.of("created"), r.cost)))
register(Measure("net_saving", MONEY, "Annual cost of deleted posts, less new posts",
                 needs=COST, derive=lambda raw: raw["deleted_cost"] - raw["created_cost"],
                 labels={"short": "Deleted less new"},
                 counts=("deleted_fte", "deleted_posts", "created_fte", "created_posts"),
                 signed=(("deleted_cost", 1), ("created_cost", -1))))
register(Measure("at_risk_cost", MONEY, "Annual cost of occupied posts deleted",
                 labels={"table": "Cost of occupied"},
                 needs=(VACANT, COST), counts=("at_risk_fte", "at_risk_posts"),
                 rows=lambda r: r.where(r.of("deleted") & ~r.vacant, r.cost)))
register(Measure("vacant_deleted_cost", MONEY, "Annual cost of vacant posts deleted",
                 needs=(VACANT, COST), counts=("vacant_deleted_fte", "vacant_deleted_posts"),
                 rows=lambda r: r.where(r.of("deleted") & r.vacant, r.cost)))
register(Measure("relocated_cost", MONEY, "Annual cost of relocated posts (moved, not saved)",
                 needs=COST, counts=("relocated_fte", "relocated_posts"),
                 rows=lambda r: r.where(r.of("relocated"), r.cost)))

# -- worked out by a figures module over the whole schedule, not summed in the totals
#    (issue 13): `impact s188`, `impact pools` and `impact reconcile` report them.
register(Measure("proposed_dismissals", POSTS, "Proposed dismissals (people in occupied "
                 "deleted posts)", computed_by="reports.figures.s188"))
register(Measure("people_in_affected_pools", POSTS, "People in affected selection pools",
                 computed_by="reports.figures.pools"))
register(Measure("redeployment_posts_available", POSTS, "Posts available for redeployment "
                 "(new posts and retained vacancies)", computed_by="reports.figures.pools"))
register(Measure("closing_sites", POSTS, "Sites closing (future FTE 0)",
                 computed_by="reports.figures.reconcile"))


# `impact costs` and `impact equality`: worked out in reports/figures/costs.py and
# equality.py from the optional columns (reports/intake/extra.py), so `summary` never
# sums them; `derive` takes the value those modules computed, as exact Decimal or int.
COSTS = "costs"            # needs: the `impact costs` figures
EQUALITY = "equality"      # needs: the `impact equality` figures


def _given(key: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda raw: raw[key]


for _key, _unit, _label, _needs in (
        ("annual_saving", MONEY, "Annual saving (deleted posts less new posts)", COST),
        ("saving_target_gap", MONEY, "Annual saving less the target", COST),
        ("part_year_saving", MONEY, "Saving in the current financial year", COST),
        ("redundancy_people", POSTS, "People with a redundancy pay estimate", None),
        ("redundancy_pay_estimate", MONEY, "Redundancy pay, estimated per person", None),
        ("redundancy_pay_bound", MONEY, "Redundancy pay, upper bound (30 weeks at the cap)",
         None),
        ("strain_flagged_posts", POSTS, "At risk, aged 55+ with 2+ years in the pension scheme",
         None),
        ("strain_cost_total", MONEY, "Pension strain cost (as given by HR)", None),
        ("one_off_cost", MONEY, "One-off costs (redundancy pay and strain)", None),
        ("payback_months", MONTHS, "Payback (months)", COST)):
    register(Measure(_key, _unit, _label, needs=(COSTS, _needs) if _needs else COSTS,
                     derive=_given(_key)))
for _key, _unit, _label in (
        ("eq_baseline_posts", POSTS, "Occupied posts today"),
        ("eq_at_risk_posts", POSTS, "At risk (occupied posts deleted)"),
        ("eq_retained_posts", POSTS, "Occupied posts kept"),
        ("retention_rate", PERCENT, "Retention rate"),
        ("retention_ratio", RATIO, "Ratio to the best-retained group"),
        ("fisher_p", RATIO, "Fisher's exact test p-value")):
    register(Measure(_key, _unit, _label, needs=EQUALITY, derive=_given(_key)))


def related(measure: Measure) -> tuple[str, ...]:
    """Every measure that `measure`'s relations name."""
    return (*measure.counts, *measure.sum_of, *(k for k, _ in measure.signed))


def posts_for(fte_key: str) -> str:
    """The posts measure that goes beside an FTE measure: deleted_fte -> deleted_posts."""
    return fte_key.removesuffix("_fte") + "_posts"


def get(key: str) -> Measure:
    return _REGISTRY[key]


def known(key: str) -> bool:
    return key in _REGISTRY


def all_measures() -> list[Measure]:
    """Every measure, in the order totals list them."""
    return list(_REGISTRY.values())


def keys() -> list[str]:
    return list(_REGISTRY)


def available(has: Iterable[str]) -> list[Measure]:
    """The measures a file with these optional columns (VACANT, COST) can report."""
    present = set(has)
    return [m for m in _REGISTRY.values() if m.available(present)]


def unit_of(key: str) -> str | None:
    m = _REGISTRY.get(key)
    return None if m is None else m.unit


def is_money(key: str) -> bool:
    return unit_of(key) == MONEY


def text(key: str, value: Any) -> str:
    """A figure for people, by its measure's unit (money as £, percent with %)."""
    m = _REGISTRY.get(key)
    return fmt_number(value) if m is None else m.text(value)


def people_order() -> list[str]:
    """The order a table of figures by key shows them in: FTE by status and the share
    deleted, then posts, then everything else (vacancy, money, any added measure)."""
    fte = [k for k in ("baseline_fte", *(f"{s}_fte" for s in STATUSES), "future_fte")]
    posts = [k for k in ("baseline_posts", *(f"{s}_posts" for s in STATUSES), "future_posts")]
    head = fte + ["pct_deleted"] + posts
    return head + [k for k in _REGISTRY if k not in head]


def placeholder_order() -> list[str]:
    """Template placeholders for figures: FTE, posts, the share deleted, then the rest."""
    order = people_order()
    order.remove("pct_deleted")
    order.insert(order.index("future_posts") + 1, "pct_deleted")
    return order


def exact_totals(totals: Mapping[str, Any]) -> dict[str, Any]:
    """Stored JSON numbers back to exact figures: FTE and money as Decimal, counts as int.
    A key no measure knows (from an older store) is kept as it is."""
    return {k: (_REGISTRY[k].exact(v) if k in _REGISTRY else v) for k, v in totals.items()}
