"""`gosidecar serve` with a restart policy that never gives up, for the restart storms.

The shipped policy gives up after 5 restarts in 3 minutes; a storm makes hundreds on
purpose. The limits are injected here, in the tests' own entry point (the supervisor
takes its policy as a dependency), not through a setting or variable the shipped
sidecar would read. Run as `python -m tests.memory.storm_sidecar` from the repository.
"""

from __future__ import annotations

import functools
import sys

from gosidecar import cli, supervisor
from gosidecar.restart_policy import RestartLimits, RestartPolicy

STORM_LIMITS = RestartLimits(max_restarts=1_000_000, window_s=1.0, backoff_s=(0.0,))

if __name__ == "__main__":
    supervisor.RestartPolicy = functools.partial(RestartPolicy, STORM_LIMITS)  # type: ignore[misc]
    sys.exit(cli.main(["serve"]))
