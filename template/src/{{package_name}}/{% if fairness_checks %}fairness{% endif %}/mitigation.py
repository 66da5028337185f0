"""Post-processing mitigation: Fairlearn's ``ThresholdOptimizer`` on the model's scores.

``ThresholdOptimizer`` (Hardt, Price & Srebro, 2016) picks a threshold on a binary
classifier's score per sensitive group, randomising between two thresholds where needed,
so that the chosen constraint (``equalized_odds`` by default: equal true and false
positive rates) holds while the objective (accuracy) stays as high as possible.

How it is fitted here, and why that is correct
    The optimiser never needs the network itself, only its score for every example and
    the group of that example. So the trained model's positive-class probability becomes
    the single input column ``X`` and :class:`ScoreColumn` is an already-fitted estimator
    whose ``predict_proba`` returns that column; with ``prefit=True`` Fairlearn neither
    clones nor refits it. The thresholds are then exactly those Fairlearn would choose
    for the real model, without wrapping a PyTorch or Transformers model in the
    scikit-learn API or running it again.

    The thresholds are fitted on the validation split and judged on the test split: the
    training split's scores are over-confident (the model has seen those labels), and
    judging on the split the thresholds were fitted on would overstate the effect.

Scope
    Binary classification only: a threshold on one score is a binary decision. Moving one
    class's threshold in a multiclass model one-vs-rest changes the other classes'
    predictions too (an example leaves one class for another), so the per-class
    guarantees do not hold and Fairlearn does not offer it; for multiclass models the
    report says so and the paths to take instead (better data for the affected groups,
    or training with ``fairlearn.reductions``). Regression has no threshold to move.

    Serving the mitigated classifier would need each request's sensitive attributes and
    these thresholds at prediction time; this stage measures the effect so that the
    decision can be made, it does not change the served model.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin

from ..core.errors import ProjectError


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """A "fitted" binary classifier whose one input column already is its score.

    ``predict_proba`` returns ``[1 - score, score]``: Fairlearn reads the second column as
    the probability of the positive class.
    """

    classes_ = np.array([0, 1])

    def fit(self, features: Any, labels: Any = None) -> "ScoreColumn":
        return self

    def predict_proba(self, features: Any) -> np.ndarray:
        scores = np.asarray(features, dtype=np.float64).reshape(len(features), -1)[:, 0]
        return np.column_stack([1.0 - scores, scores])

    def predict(self, features: Any) -> np.ndarray:
        return (self.predict_proba(features)[:, 1] >= 0.5).astype(int)

    def __sklearn_is_fitted__(self) -> bool:
        return True


def positive_scores(logits: np.ndarray, positive_index: int) -> np.ndarray:
    """Softmax probability of the positive class, from ``(N, 2)`` logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return probabilities[:, positive_index]


def fit_threshold_optimizer(
    scores: np.ndarray,
    positives: np.ndarray,
    groups: pd.Series,
    *,
    constraints: str,
    objective: str,
) -> ThresholdOptimizer:
    """Group-specific thresholds on ``scores`` (validation split), labels 0/1 in ``positives``."""
    if len(np.unique(positives)) < 2:
        raise ProjectError(
            "the validation split holds a single class, so no threshold can be fitted on it; "
            "use more data (data.val_fraction or more examples)."
        )
    optimizer = ThresholdOptimizer(
        estimator=ScoreColumn(),
        constraints=constraints,
        objective=objective,
        prefit=True,
        predict_method="predict_proba",
    )
    optimizer.fit(_column(scores), np.asarray(positives), sensitive_features=groups.to_numpy())
    return optimizer


def mitigated_predictions(
    optimizer: ThresholdOptimizer, scores: np.ndarray, groups: pd.Series, *, seed: int
) -> np.ndarray:
    """0/1 decisions of the fitted thresholds on ``scores`` (test split).

    Fairlearn gives a group it has not seen in fitting no threshold and silently predicts
    0 for it, so unseen groups are refused here. Decisions are randomised where the
    optimiser interpolates between two thresholds; ``seed`` makes them repeatable.
    """
    unseen = sorted(set(groups) - set(fitted_groups(optimizer)))
    if unseen:
        raise ProjectError(
            f"group(s) {', '.join(unseen)} appear in the test split but not in the validation "
            "split the thresholds are fitted on; use more data or merge rare groups."
        )
    return np.asarray(
        optimizer.predict(_column(scores), sensitive_features=groups.to_numpy(), random_state=seed)
    ).astype(int)


def _column(scores: np.ndarray) -> np.ndarray:
    """Scores as the one input column ``ScoreColumn`` reads."""
    return np.asarray(scores, dtype=np.float64).reshape(-1, 1)


def fitted_groups(optimizer: ThresholdOptimizer) -> Sequence[str]:
    return [str(group) for group in optimizer.interpolated_thresholder_.interpolation_dict]


def threshold_rules(optimizer: ThresholdOptimizer) -> dict[str, str]:
    """Per group, the fitted decision rule as a formula.

    For example ``P(positive) = 0.70·[score > 0.4300] + 0.30·[score > 0.5100]``: a mix of two
    thresholds (and, for equalized odds, of a constant rate) that reaches the constraint.
    """
    rules = {}
    for group, rule in optimizer.interpolated_thresholder_.interpolation_dict.items():
        terms = [
            f"{float(rule[f'p{side}']):.2f}·[score {_operation(rule[f'operation{side}'])}]"
            for side in (0, 1)
            if round(float(rule[f"p{side}"]), 2) > 0
        ]
        formula = " + ".join(terms)
        ignore = float(rule.get("p_ignore", 0.0))
        if ignore > 0:
            constant = ignore * float(rule["prediction_constant"])
            formula = f"{1 - ignore:.2f}·({formula}) + {constant:.3f}"
        rules[str(group)] = f"P(positive) = {formula}"
    return rules


def _operation(operation: Any) -> str:
    return f"{operation.operator} {float(operation.threshold):.4f}"
