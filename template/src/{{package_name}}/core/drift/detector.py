"""The drift check: which monitored features of a batch differ from the reference profile.

Each feature gets a two-sample test from SciPy (Kolmogorov-Smirnov for numeric features,
chi-squared test of homogeneity for categorical ones) and a population stability index
(PSI) over the reference bins or categories. A feature is **flagged** only when both agree:

* the test is significant at ``alpha`` divided by the number of features (Bonferroni), so
  checking ten features does not raise ten times as many false alarms as checking one; and
* the PSI is at least ``psi_threshold`` (0.2 is the usual "significant shift" mark; 0.1 to
  0.2 reads as a moderate one), so the shift is large enough to matter.

A p-value alone flags negligible shifts in large batches (everything is significant with
enough data); a PSI alone is noisy in small ones (a few hundred examples spread over ten
bins move it by chance). Below ``min_examples`` the check reports ``too_few_examples``
rather than judging.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..config import settings_from_mapping
from ..errors import ProjectError
from .profile import CategoricalReference, Features, NumericReference, ReferenceProfile

# Empty bins would make the PSI infinite; a share this small counts as "almost never".
PSI_EPSILON = 1e-4
DRIFT = "drift"
NO_DRIFT = "no_drift"
TOO_FEW = "too_few_examples"


@dataclass(frozen=True)
class DriftSettings:
    """How strict the check is (``drift.*`` for the batch stage, ``serve.drift.*`` in the server)."""

    alpha: float = 0.01
    psi_threshold: float = 0.2
    min_examples: int = 100

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, group: str = "drift") -> "DriftSettings":
        settings: DriftSettings = settings_from_mapping(cls, values, group=group, error=ProjectError)
        if not 0 < settings.alpha < 1:
            raise ProjectError(f"{group}.alpha must lie between 0 and 1, got {settings.alpha}.")
        if settings.psi_threshold <= 0:
            raise ProjectError(f"{group}.psi_threshold must be positive, got {settings.psi_threshold}.")
        if settings.min_examples < 2:
            raise ProjectError(f"{group}.min_examples must be at least 2, got {settings.min_examples}.")
        return settings


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's test, its statistic and p-value, its PSI, and whether it is flagged."""

    feature: str
    kind: str
    test: str
    statistic: float
    p_value: float
    psi: float
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "test": self.test,
            "statistic": _finite(self.statistic),
            "p_value": _finite(self.p_value),
            "psi": _finite(self.psi),
            "flagged": self.flagged,
        }


@dataclass(frozen=True)
class DriftReport:
    """The outcome for one batch: a status and one entry per feature (none when too few examples)."""

    status: str
    examples: int
    reference_examples: int
    settings: DriftSettings
    features: tuple[FeatureDrift, ...]

    @property
    def flagged(self) -> list[str]:
        return [item.feature for item in self.features if item.flagged]

    @property
    def corrected_alpha(self) -> float:
        return self.settings.alpha / max(len(self.features), 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "examples": self.examples,
            "reference_examples": self.reference_examples,
            "rule": {
                "alpha": self.settings.alpha,
                "corrected_alpha": self.corrected_alpha,
                "correction": "bonferroni",
                "psi_threshold": self.settings.psi_threshold,
                "min_examples": self.settings.min_examples,
            },
            "flagged": self.flagged,
            "features": {item.feature: item.to_dict() for item in self.features},
        }

    def table(self) -> str:
        """The report as a fixed-width table, one line per feature."""
        lines = [f"{'feature':<24} {'test':<16} {'statistic':>10} {'p-value':>10} {'PSI':>8}  flagged"]
        for item in self.features:
            lines.append(
                f"{item.feature:<24} {item.test:<16} {item.statistic:>10.4f} {item.p_value:>10.3g} "
                f"{item.psi:>8.4f}  {'DRIFT' if item.flagged else '-'}"
            )
        summary = {
            DRIFT: f"drift in {', '.join(self.flagged)}",
            NO_DRIFT: "no drift",
            TOO_FEW: f"too few examples to judge ({self.examples} < {self.settings.min_examples})",
        }[self.status]
        return "\n".join([*lines, f"{self.examples} examples against {self.reference_examples}: {summary}"])


def detect_drift(profile: ReferenceProfile, features: Features, settings: DriftSettings) -> DriftReport:
    """Compare a batch's ``features`` (one array per feature) with ``profile``."""
    missing = [name for name in profile.features if name not in features]
    if missing:
        raise ProjectError(
            f"the reference profile has feature(s) {', '.join(missing)} that the inputs lack; the profile "
            "was written for another model: retrain (make train) to write it again."
        )
    examples = len(next(iter(features.values()))) if features else 0
    if examples < settings.min_examples:
        return DriftReport(TOO_FEW, examples, profile.examples, settings, ())
    corrected_alpha = settings.alpha / len(profile.features)
    results = []
    for name, reference in profile.features.items():
        if isinstance(reference, NumericReference):
            test, statistic, p_value, psi = _numeric_drift(reference, features[name])
        else:
            test, statistic, p_value, psi = _categorical_drift(reference, features[name])
        flagged = p_value < corrected_alpha and psi >= settings.psi_threshold
        results.append(FeatureDrift(name, reference.kind, test, statistic, p_value, psi, flagged))
    status = DRIFT if any(item.flagged for item in results) else NO_DRIFT
    return DriftReport(status, examples, profile.examples, settings, tuple(results))


def population_stability_index(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI = sum((current - reference) * ln(current / reference)) over bins, empty bins at ``PSI_EPSILON``."""
    reference = np.clip(np.asarray(reference, dtype=np.float64), PSI_EPSILON, None)
    current = np.clip(np.asarray(current, dtype=np.float64), PSI_EPSILON, None)
    return float(np.sum((current - reference) * np.log(current / reference)))


def _numeric_drift(reference: NumericReference, values: np.ndarray) -> tuple[str, float, float, float]:
    """Kolmogorov-Smirnov against the reference sample; PSI over the reference deciles."""
    values = np.asarray(values, dtype=np.float64)
    result = stats.ks_2samp(np.asarray(reference.sample), values)
    psi = population_stability_index(np.asarray(reference.proportions), reference.bin_proportions(values))
    return "ks_2samp", float(result.statistic), float(result.pvalue), psi


def _categorical_drift(
    reference: CategoricalReference, values: np.ndarray
) -> tuple[str, float, float, float]:
    """Chi-squared test of homogeneity of the two category counts; PSI over the categories.

    Categories the reference never saw count as categories of their own (reference share 0),
    so a batch of new categories is flagged rather than ignored.
    """
    categories, counts = np.unique(np.asarray(values).astype(str), return_counts=True)
    current = dict(zip(categories.tolist(), counts.tolist(), strict=True))
    names = sorted(set(reference.counts) | set(current))
    table = np.array(
        [[reference.counts.get(name, 0) for name in names], [current.get(name, 0) for name in names]]
    )
    psi = population_stability_index(table[0] / table[0].sum(), table[1] / table[1].sum())
    if len(names) < 2:  # one category on both sides: nothing can differ
        return "chi2_contingency", 0.0, 1.0, psi
    result = stats.chi2_contingency(table)
    return "chi2_contingency", float(result.statistic), float(result.pvalue), psi


def _finite(value: float) -> float | None:
    """``value``, or ``None`` where JSON has no number for it (NaN, infinity)."""
    return value if math.isfinite(value) else None
