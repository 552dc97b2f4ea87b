"""The tool's version, printed by `impact --version` and in every briefing's method section."""

__version__ = "0.1.0"
