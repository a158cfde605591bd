"""The restart policy on a clock the test moves: backoff, giving up, and the window that forgives."""

from __future__ import annotations

from gosidecar.restart_policy import RestartLimits, RestartPolicy

LIMITS = RestartLimits(max_restarts=3, window_s=60.0, backoff_s=(0.0, 1.0))


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_then_the_policy_gives_up_within_the_window() -> None:
    clock = ManualClock()
    policy = RestartPolicy(LIMITS, clock)
    delays = []
    for _ in range(4):
        delays.append(policy.next_delay())
        clock.now += 10.0
    assert delays == [0.0, 1.0, 1.0, None], "the last backoff repeats; the fourth restart in 60 s is refused"


def test_restarts_older_than_the_window_are_forgiven() -> None:
    clock = ManualClock()
    policy = RestartPolicy(LIMITS, clock)
    for _ in range(3):
        policy.next_delay()
    assert policy.next_delay() is None
    clock.now += LIMITS.window_s + 0.1
    assert policy.next_delay() == 0.0, "a restart after a quiet window starts the backoff over"


def test_reset_forgets_the_window_at_once() -> None:
    clock = ManualClock()
    policy = RestartPolicy(LIMITS, clock)
    for _ in range(3):
        policy.next_delay()
    policy.reset()
    assert policy.next_delay() == 0.0
