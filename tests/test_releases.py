"""The rules of `reports.figures.releases`, each stated on a few hand-made figures: what
a new public output is audited with, given what was published before.

- two outputs have the same figures only when they show the same figures with the
  same values (only then is a version's pattern kept as it was);
- a figure with the same value as in the new output is the new figure itself (a
  reader takes it as unchanged); one unchanged until a later release is that
  release's figure; one that changed is an earlier release's own figure, with its
  value, unit and posts;
- relations, FTE-at-most-posts pairs and shown figures of every release are kept,
  each relation once;
- a new output's own protection leaves out the earlier releases' figures;
- a release is kept in the ledger as JSON and read back as it was.
"""

from __future__ import annotations

from decimal import Decimal

from reports.figures.privacy import Links, Protection
from reports.figures.releases import (
    PREFIX,
    Release,
    from_json,
    own_protection,
    release_of,
    same_figures,
    sensitive_change,
    to_json,
    union,
)
from reports.model.measures import FTE, MONEY, POSTS

DEL, RET, BASE = ("total", "deleted_fte"), ("total", "retained_fte"), ("total", "baseline_fte")
POSTS_D = ("total", "deleted_posts")
COST = ("total", "deleted_cost")


def _links(values: dict, **kw: object) -> Links:
    units = {k: POSTS if k[-1].endswith("posts") else MONEY if k[-1].endswith("cost")
             else FTE for k in values}
    return Links(values=values, units=units, shown=set(values), **kw)  # type: ignore[arg-type]


def _release(links: Links, hidden: set = frozenset(), n: int = 1) -> Release:  # type: ignore[assignment]
    return Release(f"sha{n}", f"version {n}", links, frozenset(hidden))


def test_same_figures_means_the_same_shown_figures_with_the_same_values() -> None:
    a = _links({DEL: Decimal(3), RET: Decimal(7)})
    assert same_figures(a, _links({DEL: Decimal(3), RET: Decimal(7)}))
    assert not same_figures(a, _links({DEL: Decimal(3), RET: Decimal(8)}))    # a value
    assert not same_figures(a, _links({DEL: Decimal(3)}))                     # a figure
    assert not same_figures(a, _links({DEL: Decimal(3), RET: Decimal(7),
                                       BASE: Decimal(10)}))
    b = _links({DEL: Decimal(3), RET: Decimal(7)})
    b.shown = {DEL}                                   # the same values, shown differently
    assert not same_figures(a, b)


def test_an_unchanged_figure_is_the_new_one_and_a_changed_one_the_old_releases_own() -> None:
    new = _links({DEL: Decimal(4), RET: Decimal(6), BASE: Decimal(10)},
                 equations=[(BASE, DEL, RET)])
    old = _links({DEL: Decimal(3), RET: Decimal(7), BASE: Decimal(10), POSTS_D: 3},
                 equations=[(BASE, DEL, RET)], people={DEL: 3, POSTS_D: 3},
                 at_most=[(DEL, POSTS_D)])
    both = union(new, [_release(old)], 5)
    changed = (PREFIX, 0, *DEL)
    assert (PREFIX, 0, *BASE) not in both.values                  # unchanged: the same
    assert both.values[changed] == Decimal(3) and both.units[changed] == FTE
    assert both.values[(PREFIX, 0, *POSTS_D)] == 3
    assert both.units[(PREFIX, 0, *POSTS_D)] == POSTS
    assert both.people[changed] == 3                               # its posts go with it
    assert {changed, (PREFIX, 0, *RET), (PREFIX, 0, *POSTS_D)} <= both.prior
    assert BASE not in both.prior
    # the old relation over the shared baseline and the old figures, once each
    assert sorted(both.equations) == sorted([(BASE, DEL, RET),
                                             (BASE, changed, (PREFIX, 0, *RET))])
    assert both.at_most == [(changed, (PREFIX, 0, *POSTS_D))]
    assert {BASE, DEL, RET, changed, (PREFIX, 0, *RET), (PREFIX, 0, *POSTS_D)} <= both.shown


def test_a_figure_unchanged_until_a_later_release_is_that_releases_figure() -> None:
    first = _links({DEL: Decimal(3), BASE: Decimal(10)})
    second = _links({DEL: Decimal(3), BASE: Decimal(10)})
    new = _links({DEL: Decimal(5), BASE: Decimal(10)})
    both = union(new, [_release(first, n=1), _release(second, n=2)], 5)
    # versions 1 and 2 both published 3: one figure, the later release's
    assert both.values[(PREFIX, 1, *DEL)] == Decimal(3)
    assert (PREFIX, 0, *DEL) not in both.values
    assert [k for k in both.values if k[-1] == DEL[-1]] == [DEL, (PREFIX, 1, *DEL)]


def test_a_units_default_is_fte_and_each_relation_is_kept_once() -> None:
    new = _links({DEL: Decimal(4)}, signed=[[(COST, 1), (DEL, -1)]])
    new.units = {DEL: FTE}
    old = Links(values={DEL: Decimal(3), ("x",): Decimal(1)}, units={DEL: FTE},
                shown={DEL, ("x",)}, equations=[(DEL, ("x",))],
                signed=[[(DEL, 1), (("x",), -1)]])
    both = union(new, [_release(old), _release(old, n=2)], 5)
    assert both.units[(PREFIX, 1, "x")] == FTE                  # no unit given: FTE
    assert len(both.equations) == len(set(both.equations)) == 1
    signed = [tuple(eq) for eq in both.signed]
    assert len(signed) == len(set(signed)) == 2


def test_pairs_of_fte_and_posts_of_every_release_are_kept() -> None:
    a, b = ("a", "fte"), ("a", "posts")
    new = _links({DEL: Decimal(4), POSTS_D: 4}, at_most=[(DEL, POSTS_D)])
    old = Links(values={a: Decimal(2), b: 2}, units={a: FTE, b: POSTS}, shown={a, b},
                at_most=[(a, b)])
    both = union(new, [_release(old)], 5)
    assert set(both.at_most) == {(DEL, POSTS_D), ((PREFIX, 0, *a), (PREFIX, 0, *b))}


def test_published_before_stays_published_and_hidden_before_stays_hidden() -> None:
    new = _links({DEL: Decimal(4), RET: Decimal(6), BASE: Decimal(10)})
    old = _links({DEL: Decimal(3), RET: Decimal(7), BASE: Decimal(10)})
    both = union(new, [_release(old, hidden={RET})], 5)
    assert (PREFIX, 0, *DEL) in both.fixed and BASE in both.fixed
    assert (PREFIX, 0, *RET) in both.sensitive and (PREFIX, 0, *RET) not in both.fixed


def test_own_protection_is_the_new_outputs_figures_only() -> None:
    small = ("team", "A", "deleted_posts")
    links = _links({small: 2, POSTS_D: 12, RET: Decimal(6), BASE: Decimal(20)})
    old_key = (PREFIX, 0, *POSTS_D)
    both = _links({small: 2, POSTS_D: 12, RET: Decimal(6), BASE: Decimal(20), old_key: 11})
    both.prior = {old_key}
    both.sensitive = {RET}
    got = own_protection(both, Protection(
        {small: "[c]", POSTS_D: "[c]", RET: "[c]", BASE: "[c]", old_key: "[c]"},
        {small: (Decimal(1), None), POSTS_D: (Decimal(10), Decimal(20)),
         old_key: (Decimal(9), None), ("other",): (Decimal(0), None)}, 5, 9), links, 5)
    assert set(got.hidden) == {small, POSTS_D, RET, BASE}
    assert got.ranges == {small: (Decimal(1), None), POSTS_D: (Decimal(10), Decimal(20))}
    assert got.threshold == 5
    assert got.primary == 2             # the small count, and the one hidden for a change


def test_a_release_reads_back_from_its_json_as_it_was() -> None:
    links = _links({DEL: Decimal("3.50"), POSTS_D: 4, COST: Decimal("91234.56"),
                    RET: None},
                   equations=[(BASE, DEL, RET)], signed=[[(COST, 1), (DEL, -1)]],
                   at_most=[(DEL, POSTS_D)], follows={COST: [POSTS_D]},
                   people={DEL: 4, POSTS_D: 4})
    links.shown = {DEL, POSTS_D, COST}
    release = Release("sha-x", "version 7", links, frozenset({POSTS_D, COST}),
                      {POSTS_D: (Decimal(4), None), COST: (Decimal("1.5"), Decimal(9))},
                      "union", 3)
    back = from_json(to_json(release))
    assert back == release
    assert type(back.links.values[POSTS_D]) is int
    assert type(back.links.values[DEL]) is Decimal and back.links.values[RET] is None
    assert back.links.units == links.units
    assert from_json(to_json(Release("s", "v", _links({DEL: Decimal(1)}),
                                     frozenset()))).template == ""
    # an older ledger's JSON, without the template and the count of primary figures
    import json

    older = json.loads(to_json(release))
    del older["template"], older["primary"]
    back = from_json(json.dumps(older))
    assert (back.template, back.primary) == ("", 0)


TEAM = ("team", "A", "deleted_posts")


def _money(new_posts: dict, old_posts: dict, people: tuple[dict, dict] = ({}, {})
           ) -> tuple[Links, Links]:
    """A deleted cost that follows two counts, with their values in each release."""
    def links(posts: dict, pay: int, ppl: dict) -> Links:
        got = _links({COST: Decimal(pay), **posts}, people=ppl)
        got.follows = {COST: [POSTS_D, TEAM, DEL]}      # DEL: FTE, not a count of posts
        return got
    return links(new_posts, 1000, people[0]), links(old_posts, 900, people[1])


def test_a_change_in_money_is_sensitive_when_its_posts_moved_by_fewer_than_five() -> None:
    for moved, sensitive in ((0, True), (1, True), (4, True), (5, False), (6, False)):
        new, old = _money({POSTS_D: 20 + moved, TEAM: 7}, {POSTS_D: 20, TEAM: 7})
        assert sensitive_change(COST, new, old, 5) is sensitive, moved
    # the count that moved most decides; the threshold is the template's
    new, old = _money({POSTS_D: 23, TEAM: 13}, {POSTS_D: 20, TEAM: 7})
    assert not sensitive_change(COST, new, old, 5) and sensitive_change(COST, new, old, 7)


def test_a_change_in_money_with_no_count_known_is_sensitive() -> None:
    new, old = _money({}, {})                 # no count in either release
    assert sensitive_change(COST, new, old, 5)
    new, old = _money({POSTS_D: 30}, {})      # known on one side only
    assert sensitive_change(COST, new, old, 5)
    new, old = _money({POSTS_D: None}, {POSTS_D: 20})     # a count with no value
    assert sensitive_change(COST, new, old, 5)
    new.follows = {}                          # a cost that follows no count at all
    assert sensitive_change(COST, new, old, 5)


def test_posts_a_figure_describes_are_its_people_before_its_value() -> None:
    # the counts say 20 -> 30, but they describe 12 -> 14 posts: moved by 2
    new, old = _money({POSTS_D: 30}, {POSTS_D: 20}, ({POSTS_D: 14}, {POSTS_D: 12}))
    assert sensitive_change(COST, new, old, 5)
    new, old = _money({POSTS_D: 21}, {POSTS_D: 20}, ({POSTS_D: 30}, {POSTS_D: 12}))
    assert not sensitive_change(COST, new, old, 5)


def test_only_money_has_sensitive_changes() -> None:
    new, old = _money({POSTS_D: 21}, {POSTS_D: 20})
    for key in (POSTS_D, TEAM):
        assert not sensitive_change(key, new, old, 5)
    fte_new, fte_old = _links({DEL: Decimal(4)}), _links({DEL: Decimal(3)})
    fte_new.follows = {DEL: [POSTS_D]}
    assert not sensitive_change(DEL, fte_new, fte_old, 5)


def test_what_an_output_released_keeps_its_audit() -> None:
    links = _links({DEL: Decimal(3)})
    protection = Protection({DEL: "[c]"}, {DEL: (Decimal(1), None)}, 5, 1)
    got = release_of(links, {DEL}, protection, "sha", "version 2")
    assert got == Release("sha", "version 2", links, frozenset({DEL}),
                          {DEL: (Decimal(1), None)}, "", 1)
    assert release_of(links, (), protection, "s", "v", "union").template == "union"


def test_every_earlier_releases_hidden_and_published_figures_count() -> None:
    new = _links({DEL: Decimal(5), RET: Decimal(5), BASE: Decimal(10)})
    first = _links({DEL: Decimal(3), RET: Decimal(7), BASE: Decimal(10)})
    second = _links({DEL: Decimal(4), RET: Decimal(6), BASE: Decimal(10)})
    both = union(new, [_release(first, hidden={DEL}, n=1),
                       _release(second, hidden={RET}, n=2)], 5)
    assert {(PREFIX, 0, *DEL), (PREFIX, 1, *RET)} <= both.sensitive
    assert {(PREFIX, 0, *RET), (PREFIX, 1, *DEL), BASE} <= both.fixed


def test_a_new_money_figure_is_not_a_sensitive_change() -> None:
    # a cost this output shows for the first time changed from nothing: it is audited
    # as any other figure, not hidden as a change
    other = ("team", "A", "deleted_cost")
    new = _links({COST: Decimal(900), other: Decimal(50), POSTS_D: 20})
    new.follows = {COST: [POSTS_D], other: [POSTS_D]}
    old = _links({COST: Decimal(900), POSTS_D: 20})
    both = union(new, [_release(old)], 5)
    assert other not in both.sensitive and COST not in both.sensitive


def test_the_union_keeps_the_new_outputs_settings() -> None:
    new = _links({COST: Decimal(900), POSTS_D: 20, DEL: Decimal(3)},
                 keep={POSTS_D}, dear={DEL}, max_hidden_share=1.0)
    new.follows = {COST: [POSTS_D]}
    both = union(new, [_release(_links({DEL: Decimal(2)}))], 5)
    assert (both.follows, both.keep, both.dear, both.max_hidden_share) == (
        {COST: [POSTS_D]}, {POSTS_D}, {DEL}, 1.0)


def test_a_release_is_compact_json_with_its_names_as_written() -> None:
    team = ("team", "Équipe Sud", "deleted_fte")
    text = to_json(Release("s", "v", _links({team: Decimal(2)}), frozenset()))
    assert "Équipe Sud" in text and ", " not in text and '": ' not in text
