"""The docs' command reference (docs/commands.md), generated from each command's --help by cog.

docs/commands.md holds cog blocks such as

    <!-- [[[cog import gen_commands; gen_commands.help("validate") ]]] -->
    ...the generated ```text block...
    <!-- [[[end]]] -->

Regenerate them after changing a help text, from the project's root:

    .venv/bin/python docs/gen_commands.py            # rewrite docs/commands.md
    .venv/bin/python docs/gen_commands.py --check    # exit 5, with a diff, if it is stale

which is the same as `.venv/bin/cog -I docs -r docs/commands.md` (or `--check`).
tests/test_docs.py runs the check, and compares each block with --help itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "commands.md"
DOCS = ROOT / "docs"

# click's max_content_width for this CLI is 100, so 100 columns is what a wide terminal shows;
# fixing it here keeps the page the same whatever terminal (or none) regenerates it.
WIDTH = 100


def help_text(name: str | None = None) -> str:
    """`impact NAME --help` (or `impact --help`) exactly as a terminal 100 columns wide shows it."""
    from click.testing import CliRunner

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import cli

    args = [*name.split(), "--help"] if name else ["--help"]   # "store check": a group's command
    result = CliRunner().invoke(cli.cli, args, prog_name="impact", terminal_width=WIDTH,
                                color=False)
    if result.exit_code != 0:
        raise RuntimeError(f"impact {' '.join(args)} exited {result.exit_code}:\n"
                           f"{result.output}")
    return result.output


def help_block(name: str | None = None) -> str:
    """The help as a fenced Markdown block, ending in a newline."""
    body = "\n".join(line.rstrip() for line in help_text(name).rstrip("\n").splitlines())
    return f"```text\n{body}\n```\n"


def help(name: str | None = None) -> None:
    """Write the help block into the page (called from a cog block)."""
    import cog  # provided by cogapp while it runs

    cog.out(help_block(name))


def run_cog(*options: str, page: Path = PAGE) -> int:
    """cog over the page with docs/ importable; returns cog's exit status (5: --check failed)."""
    from cogapp import Cog

    return Cog().main(["cog", "-I", str(DOCS), *options, str(page)])


def stale_diff(page: Path = PAGE) -> str:
    """How the page differs from what cog would make of it (empty when it is current)."""
    import difflib
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / page.name
        status = run_cog("-o", str(fresh), page=page)
        if status != 0:
            return f"cog exited {status}"
        old = page.read_text(encoding="utf-8").splitlines()
        new = fresh.read_text(encoding="utf-8").splitlines()
    return "\n".join(difflib.unified_diff(old, new, f"{page.name} (as committed)",
                                          f"{page.name} (from --help)", lineterm=""))


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        status = run_cog("--check")
        if status != 0:
            print(stale_diff(), "\nRegenerate with: .venv/bin/python docs/gen_commands.py",
                  file=sys.stderr)
        return status
    if argv:
        print("usage: python docs/gen_commands.py [--check]", file=sys.stderr)
        return 2
    return run_cog("-r")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
