"""Writing the reference profile of a trained model, beside it: the evaluation stage's job.

Training does not write it: profiling the training split is a measurement of the trained
model's data, like the test metrics, and keeping it out of training keeps the training
code to training. ``make evaluate`` (re)writes it whenever it is missing or was written for
other weights, so the release path (train, evaluate, ..., serve) always finds a current one.
"""

import logging
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..fingerprints import weights_sha256
from ..inference import preprocessor_of, saved_config, saved_data
from .features import feature_extractor
from .inputs import training_inputs
from .profile import ReferenceProfile, extract_features, load_profile, profile_path

log = logging.getLogger(__name__)


def build_reference_profile(data: Any, *, seed: int = 0, weights: str = "") -> ReferenceProfile:
    """The profile of ``data``'s training split, as the model reads it (``weights``: the model's hash)."""
    extractor = feature_extractor(preprocessor_of(data))
    features = extract_features(extractor, training_inputs(data))
    return ReferenceProfile.build(
        features,
        extractor.kinds,
        source=f"the training split of {data.settings.source_name}",
        seed=seed,
        weights_sha256=weights,
    )


def write_reference_profile(data: Any, model: Path, *, seed: int = 0) -> Path:
    """Profile the training split of ``data`` and save it with ``model`` (checkpoint or model folder)."""
    profile = build_reference_profile(data, seed=seed, weights=weights_sha256(model))
    path = profile.save(profile_path(model))
    log.info("reference profile of the training inputs: %s", path)
    return path


def ensure_reference_profile(model: Path) -> Path:
    """The profile beside ``model``: kept if it was written for these weights, else (re)written.

    The training split is rebuilt from the model's own saved config and preprocessing, so it
    is exactly the split the model was trained on.
    """
    path = profile_path(model)
    if path.is_file():
        try:
            load_profile(model)
            return path
        except ProjectError as reason:  # unreadable, an older format or other weights
            log.info("writing the reference profile again: %s", reason)
    return write_reference_profile(saved_data(model), model, seed=saved_config(model)["seed"])
