"""One seed for every random number generator the project touches.

Seeding only torch is a classic source of irreproducible runs: NumPy drives the data
split, Python's ``random`` is used by libraries, and DataLoader workers each have their own
generators. :func:`seed_everything` covers all of them from the ``seed`` config value.
"""

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA), optionally forcing determinism.

    ``deterministic=True`` trades speed for bit-identical results across runs on the same
    hardware: it makes torch raise on non-deterministic kernels instead of silently using
    them, and disables cuDNN autotuning, whose kernel choice can differ between runs.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # Needed by cuBLAS for deterministic matrix products; harmless on CPU.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def seed_worker(worker_id: int) -> None:
    """Seed NumPy and ``random`` inside a DataLoader worker.

    torch seeds each worker's torch generator from the loader's generator, but not NumPy or
    ``random``; without this, augmentations using them would repeat across workers.
    """
    del worker_id  # the per-worker torch seed already encodes it
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)
