"""Model classes, built from the ``model`` config group through ``_target_``."""

from .mlp import MLP

__all__ = ["MLP"]
