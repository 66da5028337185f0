"""Drift of model inputs: a reference profile of the training inputs and the drift check against it.

* ``profile.py``: the reference profile (binned proportions and a sample per numeric feature,
  category counts per categorical one) of the training split, saved beside the model;
* ``detector.py``: the per-feature two-sample test (SciPy) and population stability index;
* ``features.py``: what is monitored for this modality, computed from the model's inputs;
* ``inputs.py``: the model inputs of the training split, and of a batch file to check;
* ``reference.py``: writing the profile for a trained model (the evaluation stage does).

The monitoring and serving stages read the profile; its file name is ``artifacts.PROFILE_FILE``.
"""
