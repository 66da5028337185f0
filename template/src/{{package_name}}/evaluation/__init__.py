"""Evaluation stage: ``python -m <package>.evaluation`` writes the test-split metrics of the
trained model to ``metrics.json`` (the scoring itself is ``core/scoring.py``, shared with training,
export and fairness)."""
