"""Training stage: the Trainer (a PyTorch loop, or ``transformers.Trainer`` behind the same
interface) in ``trainer.py``, its callbacks (``callbacks.py``), settings, optimizer and schedule;
checkpoint I/O is ``core/checkpoint.py``, shared with every stage that loads the model.

This file imports nothing, so that ``python -m <package>.training --help`` and config errors
answer without loading torch: import from the module that defines a name.
"""
