"""Drift of model inputs: a reference profile of the training inputs and the drift check against it.

* ``profile.py``: the reference profile (binned proportions and a sample per numeric feature,
  category counts per categorical one) of the training split, saved beside the model;
* ``detector.py``: the per-feature two-sample test (SciPy) and population stability index;
* ``features.py``: what is monitored for this modality, computed from the model's inputs;
* ``inputs.py``: the model inputs of the training split, and of a batch file to check;
* ``reference.py``: writing the profile for a trained model (the evaluation stage does).

The monitoring and serving stages read the profile. This file imports nothing, so that
code which only needs the profile's file name does not load the rest.
"""

PROFILE_FILE = "reference_profile.json"
