"""Building the configured model for a given preprocessor."""

from collections.abc import Mapping
from typing import Any

from hydra.utils import instantiate
from torch import nn

from ..data.preprocessing import TabularPreprocessor


def build_model(model_config: Mapping[str, Any], preprocessor: TabularPreprocessor) -> nn.Module:
    """Instantiate ``model_config`` (a ``_target_`` config) sized for the encoded data."""
    model = instantiate(
        dict(model_config), input_dim=preprocessor.num_features, output_dim=preprocessor.output_dim
    )
    if not isinstance(model, nn.Module):
        raise TypeError(f"model._target_ must build a torch.nn.Module, got {type(model).__name__}")
    return model
