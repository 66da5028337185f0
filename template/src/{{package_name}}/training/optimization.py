"""The optimizer and learning-rate schedule, built from the ``trainer`` config's targets.

``trainer.optimizer`` and ``trainer.scheduler`` are Hydra targets with ``_partial_: true``;
the trainer adds what only it knows: two parameter groups (no weight decay on biases and
normalisation scales, which decay would only pull towards zero), and the optimizer and
the run's number of optimizer steps (``total_steps``) for the scheduler, stepped once per
optimizer step. E.g. ``trainer.optimizer._target_=torch.optim.SGD +trainer.optimizer.momentum=0.9``.
"""

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from torch import nn

from ..core.errors import ProjectError


def _partial(config: Mapping[str, Any], key: str) -> functools.partial:
    if not isinstance(config, Mapping) or "_target_" not in config:
        raise ProjectError(
            f"trainer.{key} must be a config with _target_ and _partial_: true "
            "(see configs/trainer/default.yaml)."
        )
    try:
        factory = instantiate(dict(config), _partial_=True)
    except InstantiationException as error:
        reason = str(error).split(", set env var HYDRA_FULL_ERROR")[0]
        example = (
            "torch.optim.AdamW" if key == "optimizer" else "<package>.training.schedule.WarmupCosineSchedule"
        )
        raise ProjectError(
            f"trainer.{key}._target_={config['_target_']} cannot be loaded ({reason}); "
            f"name an importable class, e.g. {example}."
        ) from error
    return factory


def _call(factory: Callable[..., Any], config: Mapping[str, Any], key: str, *args: Any, **kwargs: Any) -> Any:
    """``factory(*args, **kwargs)``; a setting the target refuses is an error naming ``trainer.<key>``."""
    try:
        return factory(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise ProjectError(f"trainer.{key} ({config['_target_']}) refused its settings: {error}") from error


def parameter_groups(model: nn.Module) -> list[dict[str, Any]]:
    """Trainable parameters split into a decayed group (``ndim >= 2``) and an undecayed one."""
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return [
        {"params": [parameter for parameter in trainable if parameter.ndim >= 2]},
        {"params": [parameter for parameter in trainable if parameter.ndim < 2], "weight_decay": 0.0},
    ]


def build_optimizer(config: Mapping[str, Any], model: nn.Module) -> torch.optim.Optimizer:
    """The ``trainer.optimizer`` target over the model's two parameter groups, fused where the
    optimizer can be (floating-point parameters on CPU or CUDA) and the config does not say:
    one pass over all parameters is, on a small model, most of the optimizer's saving."""
    factory = _partial(config, "optimizer")
    groups = [group for group in parameter_groups(model) if group["params"]]
    params = [parameter for group in groups for parameter in group["params"]]
    keywords = dict(factory.keywords)
    if (
        "fused" not in keywords
        and "fused" in inspect.signature(factory.func).parameters
        and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    ):
        keywords["fused"] = True
    return _call(factory.func, config, "optimizer", groups, *factory.args, **keywords)


def build_scheduler(
    config: Mapping[str, Any] | None, optimizer: torch.optim.Optimizer, total_steps: int
) -> Any:
    """The ``trainer.scheduler`` target for ``optimizer`` over ``total_steps`` optimizer steps
    (``None`` when the config sets ``trainer.scheduler=null``: a constant rate)."""
    if config is None:
        return None
    return _call(_partial(config, "scheduler"), config, "scheduler", optimizer, total_steps=total_steps)
