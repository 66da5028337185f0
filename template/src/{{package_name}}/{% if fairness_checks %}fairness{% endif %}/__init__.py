"""Fairness stage: ``python -m <package>.fairness`` (``make fairness``).

* ``checks.py``: group metrics, disparities and the rule that fails the stage;
* ``inputs.py``: the model's outputs on each split, with the sensitive features;
* ``mitigation.py``: post-processing with Fairlearn's ThresholdOptimizer;
* ``report.py``: the Markdown report.
"""
