"""The packages, found rather than listed: everything under reports/, web/ and commands/.

pyproject.toml holds the rest of the configuration.  Only this is here because
reports.templates and reports.data live at the root (templates/, data/; see
[tool.setuptools.package-dir]), and `[tool.setuptools.packages.find]` finds a package
only under its own name in its own folder: it cannot add them, nor can a list sit
beside it.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["reports", "reports.*", "web", "web.*",
                                        "commands", "commands.*"]),
                "reports.templates", "reports.data"])
