"""Writing the reference profile at the end of training, beside the trained model."""

import logging
from pathlib import Path
from typing import Any

from .features import feature_extractor
from .inputs import training_inputs
from .profile import ReferenceProfile, extract_features, profile_path

log = logging.getLogger(__name__)


def build_reference_profile(data: Any, *, seed: int = 0) -> ReferenceProfile:
    """The profile of ``data``'s training split, as the model reads it."""
    extractor = feature_extractor(data.preprocessor)
    features = extract_features(extractor, training_inputs(data))
    return ReferenceProfile.build(
        features, extractor.kinds, source=f"the training split of {data.settings.source_name}", seed=seed
    )


def write_reference_profile(data: Any, model: Path, *, seed: int = 0) -> Path:
    """Profile the training split of ``data`` and save it with ``model`` (checkpoint or model folder)."""
    path = build_reference_profile(data, seed=seed).save(profile_path(model))
    log.info("reference profile of the training inputs: %s", path)
    return path
