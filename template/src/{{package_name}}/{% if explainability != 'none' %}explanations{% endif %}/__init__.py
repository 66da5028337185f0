"""Explanations of the trained model's predictions: which inputs drove each one.

* ``attributions.py``: the attribution method of this modality (how the numbers are computed,
  against which baseline, and the completeness check that they add up);
* ``report.py``: the ``explanations.json`` contract (method, model identity, per-example
  attributions, global importance) shared by the ``explain`` stage and the server;
* ``plots.py``: the PNG figures of this modality (matplotlib, no display needed).
"""
