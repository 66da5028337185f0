"""Training stage: the Trainer (a PyTorch loop, or ``transformers.Trainer`` behind the same
interface), its callbacks, optimizer and schedule; checkpoint I/O is ``core/checkpoint.py``,
shared with every stage that loads the model.

The exports load on first use: ``python -m <package>.training`` runs this file first, and
``--help`` or a config error should answer without loading torch.
"""

from importlib import import_module

EXPORTS = {
    "Callback": "callbacks",
    "FitResult": "callbacks",
    "FitState": "callbacks",
    "Trainer": "trainer",
    "TrainerSettings": "settings",
}
__all__ = list(EXPORTS)


def __getattr__(name: str) -> object:
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{EXPORTS[name]}", __name__), name)
