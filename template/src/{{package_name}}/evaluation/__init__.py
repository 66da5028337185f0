"""Evaluation: metrics on predictions and the evaluation of a saved checkpoint."""

from .metrics import compute_metrics, is_better, metric_direction

__all__ = ["compute_metrics", "is_better", "metric_direction"]
