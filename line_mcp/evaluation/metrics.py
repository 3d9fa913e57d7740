"""Scores of an explanation and significance tests, in plain numpy.

The CoSy metrics (paper, appendix F) compare a neuron's activations on images
of a concept with its activations on a control set:

- :func:`auc`: the probability that a concept image activates the neuron more
  than a control image (ties count one half), robust to outliers;
- :func:`mad`: the mean activation difference in control standard deviations;
- :func:`auprc`: average precision of the neuron as a concept detector, which,
  unlike AUC, notices when only a few concept images activate it strongly;
- :func:`mann_whitney`: the p-value that goes with the AUC.

The paired tests of appendix G compare two labeling methods on the same neurons:
:func:`paired_test` runs :func:`shapiro_wilk` on the differences and then a
:func:`paired_t_test` (normal) or a :func:`wilcoxon_signed_rank` test (not).
scipy is not a dependency; the distributions are computed here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

Alternative = Literal["two-sided", "greater", "less"]
_NORMAL = NormalDist()


def _vector(values: ArrayLike, name: str, minimum: int = 1) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} value(s), got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def rankdata(values: ArrayLike) -> np.ndarray:
    """Ranks 1..n with tied values sharing their mean rank.

    Example:
        >>> rankdata([10, 20, 20, 30]).tolist()
        [1.0, 2.5, 2.5, 4.0]
    """
    array = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(array, kind="mergesort")
    ranks = np.empty(array.size, dtype=np.float64)
    sorted_values = array[order]
    start = 0
    while start < array.size:
        end = start
        while end + 1 < array.size and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _tie_term(values: np.ndarray) -> float:
    """Sum of t^3 - t over groups of tied values (variance corrections)."""
    _, counts = np.unique(values, return_counts=True)
    return float(np.sum(counts.astype(np.float64) ** 3 - counts))


def _p_from_z(z: float, alternative: Alternative) -> float:
    # cdf(-z) rather than 1 - cdf(z): keeps tiny tail probabilities instead of rounding to 0.
    if alternative == "greater":
        return _NORMAL.cdf(-z)
    if alternative == "less":
        return _NORMAL.cdf(z)
    return min(1.0, 2.0 * _NORMAL.cdf(-abs(z)))


def auc(control: ArrayLike, concept: ArrayLike) -> float:
    """CoSy AUC: P(concept activation > control activation), ties counting 1/2.

    Args:
        control: The neuron's activations on the control images.
        concept: Its activations on the images of the explanation's concept.

    Returns:
        A value in [0, 1]; 0.5 is chance, 1 a perfect concept detector.

    Example:
        >>> auc([0.0, 1.0, 2.0], [1.5, 3.0])
        0.8333333333333334
    """
    negatives, positives = _vector(control, "control"), _vector(concept, "concept")
    ranks = rankdata(np.concatenate([positives, negatives]))
    u = ranks[: positives.size].sum() - positives.size * (positives.size + 1) / 2
    return float(u / (positives.size * negatives.size))


def mad(control: ArrayLike, concept: ArrayLike) -> float:
    """CoSy mean activation difference: (mean(concept) - mean(control)) / std(control).

    The standard deviation is the sample one (ddof = 1), as in CoSy's reference
    code. A control set on which the neuron never varies gives ``inf`` (or 0
    when the means agree).

    Example:
        >>> mad([0.0, 2.0], [3.0])
        1.414213562373095
    """
    negatives, positives = _vector(control, "control", 2), _vector(concept, "concept")
    difference = float(positives.mean() - negatives.mean())
    spread = float(negatives.std(ddof=1))
    if spread == 0.0:
        return 0.0 if difference == 0.0 else math.copysign(math.inf, difference)
    return difference / spread


def auprc(control: ArrayLike, concept: ArrayLike) -> float:
    """Average precision of the activation as a detector of concept images.

    Thresholds run over the distinct activations from high to low; AP sums the
    precision at each threshold weighted by the recall it adds (the step-wise
    definition, no interpolation). Chance level is the share of concept images.

    Example:
        >>> round(auprc([0.0, 2.0], [1.0, 3.0]), 4)
        0.8333
    """
    negatives, positives = _vector(control, "control"), _vector(concept, "concept")
    scores = np.concatenate([positives, negatives])
    labels = np.concatenate([np.ones(positives.size), np.zeros(negatives.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    # The last index of each run of equal scores: one threshold per distinct value.
    last = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    true_positives = np.cumsum(labels)[last]
    precision = true_positives / (last + 1)
    recall = true_positives / positives.size
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass(frozen=True)
class StatResult:
    """A test statistic and its p-value.

    Attributes:
        statistic: U for Mann-Whitney, W+ (sum of positive ranks) for Wilcoxon,
            t for the t-test, W for Shapiro-Wilk.
        p_value: The p-value under the test's null hypothesis.
        method: How the p-value was computed ("exact", "normal approximation", ...).
    """

    statistic: float
    p_value: float
    method: str


def mann_whitney(
    concept: ArrayLike, control: ArrayLike, alternative: Alternative = "greater"
) -> StatResult:
    """Mann-Whitney U test of concept against control activations.

    Uses the normal approximation with tie correction and a continuity
    correction (what scipy calls ``method="asymptotic"``); the default
    alternative asks whether concept images activate the neuron more.

    Returns:
        U of the concept sample (``U / (n_concept * n_control)`` is the AUC) and p.

    Example:
        >>> round(mann_whitney([3.0, 4.0, 5.0], [0.0, 1.0, 2.0]).p_value, 4)
        0.0404
    """
    positives, negatives = _vector(concept, "concept"), _vector(control, "control")
    n1, n2 = positives.size, negatives.size
    pooled = np.concatenate([positives, negatives])
    ranks = rankdata(pooled)
    u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    n = n1 + n2
    variance = n1 * n2 / 12.0 * ((n + 1) - _tie_term(pooled) / (n * (n - 1)))
    if variance <= 0:
        return StatResult(u, 1.0, "degenerate: every value tied")
    shift = u - n1 * n2 / 2.0
    if alternative == "two-sided":
        z = (abs(shift) - 0.5) / math.sqrt(variance)
        z = max(z, 0.0)
    elif alternative == "greater":
        z = (shift - 0.5) / math.sqrt(variance)
    else:
        z = (shift + 0.5) / math.sqrt(variance)
    return StatResult(u, _p_from_z(z, alternative), "normal approximation")


def _signed_rank_counts(n: int) -> np.ndarray:
    """How many subsets of {1..n} sum to each value 0..n(n+1)/2 (exact W+ null)."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=np.float64)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def wilcoxon_signed_rank(
    x: ArrayLike, y: ArrayLike | None = None, alternative: Alternative = "two-sided"
) -> StatResult:
    """Wilcoxon signed-rank test of the paired differences ``x - y``.

    Zero differences are dropped (Wilcoxon's convention). With at most 50
    non-zero differences and no ties the p-value is exact; otherwise it uses the
    normal approximation with the tie-corrected variance.

    Example:
        >>> wilcoxon_signed_rank([1.0, 2.0, 3.0, 4.0, 5.0]).p_value
        0.0625
    """
    differences = _vector(x, "x")
    if y is not None:
        differences = differences - _vector(y, "y")
    differences = differences[differences != 0]
    n = differences.size
    if n == 0:
        return StatResult(0.0, 1.0, "every difference is zero")
    magnitudes = np.abs(differences)
    ranks = rankdata(magnitudes)
    w_plus = float(ranks[differences > 0].sum())
    ties = _tie_term(magnitudes)
    if n <= 50 and ties == 0:
        counts = _signed_rank_counts(n)
        total = 2.0**n
        k = round(w_plus)
        p_greater = float(counts[k:].sum() / total)
        p_less = float(counts[: k + 1].sum() / total)
        two_sided = min(1.0, 2 * min(p_greater, p_less))
        p = {"greater": p_greater, "less": p_less}.get(alternative, two_sided)
        return StatResult(w_plus, p, "exact")
    mean = n * (n + 1) / 4.0
    variance = n * (n + 1) * (2 * n + 1) / 24.0 - ties / 48.0
    z = (w_plus - mean) / math.sqrt(variance)
    return StatResult(w_plus, _p_from_z(z, alternative), "normal approximation")


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) by Lentz's continued fraction."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast on this side only
        return 1.0 - _betainc(b, a, 1.0 - x)
    log_front = a * math.log(x) + b * math.log1p(-x) - math.log(a)
    log_front -= math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * fraction


def student_t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom.

    Example:
        >>> round(2 * student_t_sf(2.776445, 4), 4)
        0.05
    """
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def paired_t_test(x: ArrayLike, y: ArrayLike, alternative: Alternative = "two-sided") -> StatResult:
    """Student's paired t-test of ``mean(x - y) == 0``.

    Example:
        >>> round(paired_t_test([2.0, 3.0, 5.0], [1.0, 1.0, 1.0]).statistic, 4)
        2.6458
    """
    differences = _vector(x, "x", 2) - _vector(y, "y", 2)
    n = differences.size
    spread = float(differences.std(ddof=1))
    mean = float(differences.mean())
    if spread == 0.0:
        if mean == 0.0:
            return StatResult(0.0, 1.0, "every difference is zero")
        t = math.copysign(math.inf, mean)
        p = {"greater": float(mean < 0), "less": float(mean > 0)}.get(alternative, 0.0)
        return StatResult(t, p, "constant differences")
    t = mean / (spread / math.sqrt(n))
    df = n - 1
    if alternative == "greater":
        p = student_t_sf(t, df)
    elif alternative == "less":
        p = student_t_sf(-t, df)
    else:
        p = min(1.0, 2.0 * student_t_sf(abs(t), df))
    return StatResult(t, p, f"t distribution, {df} df")


def _polyval(coefficients: tuple[float, ...], x: float) -> float:
    """c0 + c1 x + c2 x^2 + ..."""
    return sum(c * x**k for k, c in enumerate(coefficients))


def shapiro_wilk(values: ArrayLike) -> StatResult:
    """Shapiro-Wilk test of normality, Royston's (1992, 1995) approximation.

    Valid for 3 to 5000 values. The null hypothesis is that the values come
    from a normal distribution; a small p rejects it.

    Example:
        >>> shapiro_wilk([1.0, 2.0, 3.0]).statistic
        1.0
    """
    x = np.sort(_vector(values, "values", 3))
    n = x.size
    if n > 5000:
        raise ValueError(f"shapiro_wilk handles 3..5000 values, got {n}")
    spread = float(np.sum((x - x.mean()) ** 2))
    if spread == 0.0:
        return StatResult(1.0, 1.0, "every value equal")
    if n == 3:
        a = np.array([-math.sqrt(0.5), 0.0, math.sqrt(0.5)])
        w = min(1.0, float((a @ x) ** 2 / spread))
        p = max(0.0, 6.0 / math.pi * (math.asin(math.sqrt(w)) - math.asin(math.sqrt(0.75))))
        return StatResult(w, min(1.0, p), "exact (n = 3)")
    m = np.array([_NORMAL.inv_cdf((i - 0.375) / (n + 0.25)) for i in range(1, n + 1)])
    mm = float(m @ m)
    u = 1.0 / math.sqrt(n)
    a = m / math.sqrt(mm)
    a_n = a[-1] + _polyval((0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056), u)
    if n > 5:
        a_n1 = a[-2] + _polyval((0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633), u)
        phi = (mm - 2 * m[-1] ** 2 - 2 * m[-2] ** 2) / (1 - 2 * a_n**2 - 2 * a_n1**2)
        a = m / math.sqrt(phi)
        a[-1], a[-2], a[0], a[1] = a_n, a_n1, -a_n, -a_n1
    else:
        phi = (mm - 2 * m[-1] ** 2) / (1 - 2 * a_n**2)
        a = m / math.sqrt(phi)
        a[-1], a[0] = a_n, -a_n
    w = min(1.0, float((a @ x) ** 2 / spread))
    if w >= 1.0:
        return StatResult(1.0, 1.0, "Royston approximation")
    if n <= 11:
        gamma = 0.459 * n - 2.273
        mu = _polyval((0.5440, -0.39978, 0.025054, -0.0006714), n)
        sigma = math.exp(_polyval((1.3822, -0.77857, 0.062767, -0.0020322), n))
        inner = gamma - math.log1p(-w)
        if inner <= 0:  # far in the tail beyond the approximation's range
            return StatResult(w, 0.0, "Royston approximation")
        z = (-math.log(inner) - mu) / sigma
    else:
        log_n = math.log(n)
        mu = _polyval((-1.5861, -0.31082, -0.083751, 0.0038915), log_n)
        sigma = math.exp(_polyval((-0.4803, -0.082676, 0.0030302), log_n))
        z = (math.log1p(-w) - mu) / sigma
    return StatResult(w, _NORMAL.cdf(-z), "Royston approximation")


@dataclass(frozen=True)
class PairedComparison:
    """Method A against method B on the same items (paper, appendix G).

    Attributes:
        n: Paired items.
        mean_a: Mean score of A.
        mean_b: Mean score of B.
        test: "paired t-test" or "Wilcoxon signed-rank", chosen by normality.
        normality_p: Shapiro-Wilk p of the differences (None for fewer than 3).
        statistic: The chosen test's statistic.
        p_value: Its p-value.
        wins: Items where A scored higher than B.
        losses: Items where B scored higher.
    """

    n: int
    mean_a: float
    mean_b: float
    test: str
    normality_p: float | None
    statistic: float
    p_value: float
    wins: int
    losses: int

    def as_row(self, method: str, baseline: str, metric: str) -> dict[str, Any]:
        """One row of a benchmark's comparison table (JSON-ready).

        Example:
            >>> row = paired_test([3.0, 2.0, 4.0], [1.0, 1.0, 1.0]).as_row("line", "vocab", "auc")
            >>> row["method"], row["wins"], row["losses"]
            ('line', 3, 0)
        """
        return {
            "method": method,
            "baseline": baseline,
            "metric": metric,
            "n": self.n,
            "mean_method": self.mean_a,
            "mean_baseline": self.mean_b,
            "wins": self.wins,
            "losses": self.losses,
            "test": self.test,
            "normality_p": self.normality_p,
            "p_value": self.p_value,
        }


def comparison_cells(row: Mapping[str, Any]) -> str:
    """The statistics cells of a markdown table row written from :meth:`PairedComparison.as_row`.

    Example:
        >>> comparison_cells({"mean_method": 0.5, "mean_baseline": 0.25, "wins": 3, "losses": 1,
        ...                   "test": "paired t-test", "p_value": 0.0123})
        '0.500 | 0.250 | 3/1 | paired t-test | 0.0123'
    """
    return (
        f"{row['mean_method']:.3f} | {row['mean_baseline']:.3f} | {row['wins']}/{row['losses']} | "
        f"{row['test']} | {row['p_value']:.3g}"
    )


def paired_test(
    a: ArrayLike, b: ArrayLike, alternative: Alternative = "two-sided", alpha: float = 0.05
) -> PairedComparison:
    """Compare paired scores as the paper's appendix G does.

    Shapiro-Wilk tests the differences ``a - b`` for normality; if normality
    is not rejected at ``alpha`` a paired Student t-test follows, otherwise the
    Wilcoxon signed-rank test. Fewer than three pairs, or constant differences,
    go straight to Wilcoxon.

    Args:
        a: Scores of the method under test, one per item.
        b: Scores of the reference method on the same items.
        alternative: "greater" asks whether A beats B.
        alpha: Significance level of the normality check.

    Returns:
        A :class:`PairedComparison`.

    Example:
        >>> paired_test([0.9, 0.8, 0.95, 0.7, 0.85], [0.6, 0.7, 0.5, 0.65, 0.6]).wins
        5
    """
    first, second = _vector(a, "a"), _vector(b, "b")
    if first.size != second.size:
        raise ValueError(f"paired scores differ in length: {first.size} and {second.size}")
    differences = first - second
    normality = None
    if differences.size >= 3 and np.ptp(differences) > 0:
        normality = shapiro_wilk(differences).p_value
    if normality is not None and normality > alpha:
        result, name = paired_t_test(first, second, alternative), "paired t-test"
    else:
        result, name = wilcoxon_signed_rank(first, second, alternative), "Wilcoxon signed-rank"
    return PairedComparison(
        n=int(first.size),
        mean_a=float(first.mean()),
        mean_b=float(second.mean()),
        test=name,
        normality_p=normality,
        statistic=result.statistic,
        p_value=result.p_value,
        wins=int(np.sum(differences > 0)),
        losses=int(np.sum(differences < 0)),
    )
