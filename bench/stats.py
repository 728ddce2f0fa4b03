"""The one percentile the benchmarks report, so a p99 means the same in every one of them."""
from __future__ import annotations


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the samples lie (the sample at that rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]
