"""The sidecar's pinned requirements for one Python version, for the .vsix wheel download.

    python requirements.py PYPROJECT VERSION     the pins of `dependencies` and the `model`
                                                 extra that apply to Python VERSION, markers
                                                 evaluated for it (pip evaluates top-level
                                                 markers against the Python it runs on, not
                                                 --python-version)
    python requirements.py PYPROJECT --marked    names pinned per Python version (with a marker)
    python requirements.py PYPROJECT --manifest WHEELS offline|online VERSION...
                                                 writes WHEELS/manifest.json, what the extension
                                                 installs (bundledEnv.ts's WheelManifest); online
                                                 adds the pins to fetch from the user's index,
                                                 markers kept (pip evaluates them on the user's
                                                 Python), and the optional ones

Runs with the .venv's Python: tomli and packaging come from pip's vendored copies, so it
works on Python 3.10 too (no tomllib there).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pip._vendor import tomli
from pip._vendor.packaging.requirements import Requirement


def pinned_requirements(pyproject: Path) -> list[Requirement]:
    project = tomli.loads(pyproject.read_text())["project"]
    texts = [*project["dependencies"], *project["optional-dependencies"]["model"]]
    return [Requirement(text) for text in texts]


# PyPI has only an sdist of llama-cpp-python: a machine without a C compiler cannot install
# it, and the sidecar still runs there (the AI part reports the fix).
OPTIONAL_ONLINE = frozenset({"llama-cpp-python"})


def online(requirements: list[Requirement], sidecar_wheel: str) -> dict[str, object]:
    def texts(optional: bool) -> list[str]:
        return [str(r) for r in requirements if (r.name.lower() in OPTIONAL_ONLINE) == optional]

    return {"sidecarWheel": sidecar_wheel, "dependencies": texts(optional=False), "optional": texts(optional=True)}


def the_wheel(wheels: Path, pattern: str) -> str:
    found = sorted(wheels.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"expected one {pattern} in {wheels}, found {len(found)}")
    return found[0].name


def write_manifest(pyproject: Path, wheels: Path, kind: str, versions: list[str]) -> None:
    version = tomli.loads(pyproject.read_text())["project"]["version"]
    manifest: dict[str, object] = {
        "requirement": f"gosidecar[model]=={version}",
        "pythonVersions": versions,
        "pipWheel": the_wheel(wheels, "pip-*.whl"),
    }
    if kind == "online":
        manifest["online"] = online(pinned_requirements(pyproject), the_wheel(wheels, "gosidecar-*.whl"))
    (wheels / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def for_python(requirements: list[Requirement], version: str) -> list[str]:
    wanted = []
    for requirement in requirements:
        if requirement.marker is None or requirement.marker.evaluate({"python_version": version}):
            requirement.marker = None
            wanted.append(str(requirement))
    return wanted


def main(pyproject: str, mode: str, *rest: str) -> None:
    if mode == "--manifest":
        write_manifest(Path(pyproject), Path(rest[0]), rest[1], list(rest[2:]))
        return
    requirements = pinned_requirements(Path(pyproject))
    if mode == "--marked":
        lines = sorted({r.name.lower() for r in requirements if r.marker is not None})
    else:
        lines = for_python(requirements, mode)
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
