"""Public outputs and the publication ledger (issue 23).

Every public output of a stored dataset (a portal download, the published page, a
monthly folder, `impact ... --audience public --dataset NAME`) is made through
`released`: it reads the dataset's ledger, makes the output's figures over everything
released before (`figures.releases`), and records what it released.  A version's
pattern, once released, is kept for its later outputs.

A file that is not stored has no ledger unless the user keeps one (`--ledger FILE`):
then nothing is known of what was released before, and the output says so
(`figures.releases.NOT_CHECKED`); a scratch ledger still audits the two sides of one
comparison together.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..documents.blocks import Briefing
from ..documents.template import Template
from ..figures.releases import Prior, release_of, same_figures
from ..model.errors import StoreError, UsageProblem
from ..store.files import sha256_file
from .source import Opened

if TYPE_CHECKING:
    from ..store.ledger import Ledger

ATTEMPTS = 20              # releases recorded by others meanwhile, before giving up
FILE_DATASET = "(ledger file)"   # the one dataset of a --ledger FILE


@dataclass(frozen=True)
class Publishing:
    """Where an output's release is recorded: a ledger (None: none is known), the
    dataset and version it is of, and the output's name."""

    ledger: Ledger
    dataset: str
    version: str               # the version's sha256
    label: str
    output: str
    known: bool = True         # False: a scratch ledger, for this run alone

    def of(self, version: str, label: str) -> Publishing:
        """The same ledger and output, for another version (the earlier side of a
        comparison)."""
        return replace(self, version=version, label=label)

    def of_file(self, path: Path) -> Publishing:
        return self.of(sha256_file(path), path.name)


@contextlib.contextmanager
def publishing(src: Opened, output: str, ledger_file: Path | None = None
               ) -> Iterator[Publishing]:
    """The ledger of `src`: its store's for a stored version; for a file, the ledger
    file `ledger_file`, else a scratch one that lasts this run (so that the two sides
    of a comparison are still audited together), and the output says that nothing
    earlier is known (`NOT_CHECKED`)."""
    from ..store.ledger import Ledger  # start-up: SQLAlchemy, only for a public output

    if src.store is not None and src.version is not None:
        if ledger_file is not None:
            raise UsageProblem("--ledger is for a file that is not stored: a stored "
                               "dataset's releases are kept in its store's ledger")
        v = src.version
        yield Publishing(Ledger.of_store(src.store), v.dataset, v.sha256, v.label, output)
        return
    with contextlib.ExitStack() as stack:
        path = ledger_file
        if path is None:
            path = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="impact-ledger-"))) / "ledger.db"
        ledger = Ledger.of_file(path)
        stack.callback(ledger.close)
        yield Publishing(ledger, FILE_DATASET, sha256_file(src.name), src.name.name, output,
                         known=ledger_file is not None)


def released(pub: Publishing | None, template: Template,
             make: Callable[[Prior | None], Briefing]) -> Briefing:
    """`make(prior)` (a briefing), its figures chosen over the ledger's releases and
    recorded there.  A template that hides nothing releases nothing to record."""
    if not template.suppresses or pub is None:
        return make(None)
    from ..store.ledger import LedgerMoved  # start-up: SQLAlchemy, only for a public output

    for _ in range(ATTEMPTS):
        state = pub.ledger.state(pub.dataset)
        mine = state.own(pub.version, template.name)
        briefing = make(Prior(state.others(mine[0] if mine else None),
                              mine[0].release if mine else None, pub.known))
        f = briefing.figures
        assert briefing.protection is not None
        links = f.links()
        kept = next((s for s in mine if same_figures(s.release.links, links)
                     and s.release.hidden == frozenset(f.hidden)), None)
        release = release_of(links, f.hidden, briefing.protection, pub.version, pub.label,
                             template.name)
        shown = [(" / ".join(str(p) for p in k),
                  None if k in f.hidden else str(f.values[k]))
                 for k in sorted(f.shown, key=repr) if k in f.values]
        try:
            pub.ledger.record(state, release, pub.output, shown, kept)
            return briefing
        except LedgerMoved:
            continue
    raise StoreError(f"the publication ledger of '{pub.dataset}' kept changing while this "
                     f"output was made; try again")
