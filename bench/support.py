"""Helpers shared by the benchmarks."""

from __future__ import annotations

import numpy as np


def percentile(values: list[float], share: float) -> float:
    """The sample at `share` (0..1) of the sorted values, never an interpolation between two; 0 when empty."""
    if not values:
        return 0.0
    return float(np.percentile(values, share * 100, method="higher"))
