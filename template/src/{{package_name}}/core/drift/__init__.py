"""Drift of model inputs: a reference profile of the training inputs and the drift check against it.

* ``profile.py``: the reference profile (binned proportions and a sample per numeric feature,
  category counts per categorical one), built from the training split and saved with the model;
* ``detector.py``: the per-feature two-sample test (SciPy) and population stability index,
  and the rule that flags a feature;
* ``features.py``: what is monitored for this modality, computed from the model's inputs;
* ``inputs.py``: the model inputs of the training split, and of a batch file to check;
* ``reference.py``: writing the profile at the end of training.

The batch check is ``python -m <package>.monitoring`` (``monitoring/__main__.py``); the server keeps a rolling
window of request inputs and exports the same figures as Prometheus gauges
(``serving/drift.py``). This package is shared: training writes the profile, the
monitoring and serving stages read it. Import its modules directly (this file imports
nothing, so that training does not load the drift detector).
"""
