"""pass@k with the unbiased estimator (Chen et al. 2021): for a task with n samples of which c passed,
pass@k = 1 - C(n-c, k) / C(n, k), averaged over tasks."""

from __future__ import annotations

from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    if k > n or n <= 0:
        raise ValueError("k must be between 1 and the number of samples")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def mean_pass_at_k(rows: list[tuple[int, int]], k: int) -> float | None:
    """Mean over tasks (n, c) with at least k samples; None when none has."""
    vals = [pass_at_k(n, c, k) for n, c in rows if n >= k]
    return sum(vals) / len(vals) if vals else None
