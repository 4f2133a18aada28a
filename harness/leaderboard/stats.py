"""Bootstrap confidence intervals over cases, and paired bootstrap comparisons.

Every call draws from its own generator seeded with SEED, so the figures depend only on the
per-case scores: rebuilding the leaderboard gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED = 20250
RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Comparison:
    n_common: int
    diff: float
    """Weighted mean of A minus that of B over the common cases."""
    ci: tuple[float, float]
    p_value: float
    """Two-sided bootstrap p-value of the difference being 0."""

    @property
    def significant(self) -> bool:
        return self.ci[0] > 0 or self.ci[1] < 0


def _resample_means(values: np.ndarray, weights: np.ndarray, index: np.ndarray) -> np.ndarray:
    w = weights[index]
    return (values[index] * w).sum(axis=1) / w.sum(axis=1)


def _indices(n: int) -> np.ndarray:
    return np.random.default_rng(SEED).integers(0, n, size=(RESAMPLES, n))


def _interval(estimates: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ci(values: list[float], weights: list[float] | None = None) -> tuple[float, float] | None:
    """95% percentile interval of the (weighted) mean over cases; None with fewer than two cases."""
    if len(values) < 2:
        return None
    v = np.asarray(values, dtype=np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    return _interval(_resample_means(v, w, _indices(len(v))))


def paired_bootstrap(
    a: dict[str, tuple[float, float]], b: dict[str, tuple[float, float]]
) -> Comparison | None:
    """Compare two models on their common cases (case_id -> (value, weight)); None under two common cases.

    The same resampled cases feed both means, so the case-to-case variation they share cancels out.
    Weights come from A (both models answer the same questions of a case).
    """
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return None
    va = np.array([a[c][0] for c in common])
    vb = np.array([b[c][0] for c in common])
    w = np.array([a[c][1] for c in common])
    index = _indices(len(common))
    diffs = _resample_means(va, w, index) - _resample_means(vb, w, index)
    diff = float((va * w).sum() / w.sum() - (vb * w).sum() / w.sum())
    p_value = min(1.0, 2 * min(float((diffs <= 0).mean()), float((diffs >= 0).mean())))
    return Comparison(len(common), diff, _interval(diffs), p_value)
