"""Monitoring of inputs: a reference profile of the training inputs and the drift check against it.

* ``profile.py``: the reference profile (binned proportions and a sample per numeric feature,
  category counts per categorical one), built from the training split and saved with the model;
* ``detector.py``: the per-feature two-sample test (SciPy) and population stability index,
  and the rule that flags a feature;
* ``features.py``: what is monitored for this modality, computed from the model's inputs;
* ``inputs.py``: the model inputs of the training split, and of a batch file to check;
* ``reference.py``: writing the profile at the end of training.

The batch check is ``python -m <package>.drift`` (``drift.py``); the server keeps a rolling
window of request inputs and exports the same figures as Prometheus gauges
(``serving/drift.py``).
"""

from .detector import DriftReport, DriftSettings, detect_drift
from .features import feature_extractor
from .profile import PROFILE_FILE, ReferenceProfile, profile_path
from .reference import build_reference_profile, write_reference_profile

__all__ = [
    "PROFILE_FILE",
    "DriftReport",
    "DriftSettings",
    "ReferenceProfile",
    "build_reference_profile",
    "detect_drift",
    "feature_extractor",
    "profile_path",
    "write_reference_profile",
]
