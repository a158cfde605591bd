"""The sidecar's pinned requirements for one Python version, for the .vsix wheel download.

    python requirements.py PYPROJECT VERSION     the pins of `dependencies` and the `model`
                                                 extra that apply to Python VERSION, markers
                                                 evaluated for it (pip evaluates top-level
                                                 markers against the Python it runs on, not
                                                 --python-version)
    python requirements.py PYPROJECT --marked    names pinned per Python version (with a marker)

Runs with the .venv's Python: tomli and packaging come from pip's vendored copies, so it
works on Python 3.10 too (no tomllib there).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pip._vendor import tomli
from pip._vendor.packaging.requirements import Requirement


def pinned_requirements(pyproject: Path) -> list[Requirement]:
    project = tomli.loads(pyproject.read_text())["project"]
    texts = [*project["dependencies"], *project["optional-dependencies"]["model"]]
    return [Requirement(text) for text in texts]


def for_python(requirements: list[Requirement], version: str) -> list[str]:
    wanted = []
    for requirement in requirements:
        if requirement.marker is None or requirement.marker.evaluate({"python_version": version}):
            requirement.marker = None
            wanted.append(str(requirement))
    return wanted


def main(pyproject: str, mode: str) -> None:
    requirements = pinned_requirements(Path(pyproject))
    if mode == "--marked":
        lines = sorted({r.name.lower() for r in requirements if r.marker is not None})
    else:
        lines = for_python(requirements, mode)
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
