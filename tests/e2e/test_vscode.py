"""The .vsix in a real VS Code (code-server) driven by headless Chromium: tests/e2e/run.mjs.

scripts/test installs code-server and Chromium and builds the .vsix first; each check
of the run is printed, and screenshots go to test-output/e2e/.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(25 * 60)]


def test_extension_end_to_end_in_code_server() -> None:
    script = f"source {ROOT}/scripts/lib/setup.sh && source {ROOT}/scripts/lib/extension.sh && run_e2e_prepared"
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=22 * 60, check=False)
    print(run.stdout[-8000:])
    assert run.returncode == 0, (
        "end-to-end checks failed:\n"
        + "\n".join(
            line for line in run.stdout.splitlines() if line.startswith(("FAIL", "PASS")) or "checks passed" in line
        )
        + "\n"
        + run.stderr[-3000:]
    )
