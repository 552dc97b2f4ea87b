"""The README's command reference, generated from each command's --help by cog.

The README's "Commands" section holds cog blocks such as

    <!-- [[[cog import gen_commands; gen_commands.help("validate") ]]] -->
    ...the generated ```text block...
    <!-- [[[end]]] -->

Regenerate them after changing a help text, from the project's root:

    .venv/bin/python docs/gen_commands.py            # rewrite README.md
    .venv/bin/python docs/gen_commands.py --check    # exit 5, with a diff, if README.md is stale

which is the same as `.venv/bin/cog -I docs -r README.md` (or `--check`).
tests/test_readme.py runs the check.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# click's max_content_width for this CLI is 100, so 100 columns is what a wide terminal shows;
# fixing it here keeps the README the same whatever terminal (or none) regenerates it.
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
    """Write the help block into the README (called from a cog block)."""
    import cog  # provided by cogapp while it runs

    cog.out(help_block(name))


def run_cog(*options: str, readme: Path = README) -> int:
    """cog over the README with docs/ importable; returns cog's exit status (5: --check failed)."""
    from cogapp import Cog

    return Cog().main(["cog", "-I", str(DOCS), *options, str(readme)])


def stale_diff(readme: Path = README) -> str:
    """How the README differs from what cog would make of it (empty when it is current)."""
    import difflib
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / readme.name
        status = run_cog("-o", str(fresh), readme=readme)
        if status != 0:
            return f"cog exited {status}"
        old = readme.read_text(encoding="utf-8").splitlines()
        new = fresh.read_text(encoding="utf-8").splitlines()
    return "\n".join(difflib.unified_diff(old, new, f"{readme.name} (as committed)",
                                          f"{readme.name} (from --help)", lineterm=""))


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
