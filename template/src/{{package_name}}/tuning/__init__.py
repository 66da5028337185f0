"""Hyper-parameter search with Optuna (``python -m <package>.tuning``, ``make tune``); imports nothing."""
