"""Shared code of every stage: config, errors, artifact paths, atomic writes and checksums,
devices, seeding, checkpoints, metrics and scoring, the drift profile, the served-model
runtime and waivers.

Stages (``training``, ``evaluation``, ``export`` ...) import from here, from ``data`` and
from ``models``, never from each other; ``make lint`` checks it (``[tool.importlinter]`` in
pyproject.toml). Code that a second stage needs moves here.
"""
