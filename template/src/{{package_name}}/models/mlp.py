"""A multilayer perceptron for tabular inputs."""

from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


class MLP(nn.Module):
    """Linear → activation → dropout blocks, then a linear head.

    ``input_dim`` and ``output_dim`` come from the fitted preprocessor (number of encoded
    features; number of classes, or 1 for regression), so the config only describes the
    architecture in between.
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        dropout: float = 0.1,
        activation: str = "gelu",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got '{activation}'")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        layers: list[nn.Module] = []
        width = input_dim
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = hidden
        layers.append(nn.Linear(width, output_dim))
        self.network = nn.Sequential(*layers)
        self.input_dim = input_dim
        self.output_dim = output_dim

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, input_dim)`` features to ``(batch, output_dim)`` logits or values."""
        return self.network(features)
