"""One seed for every random number generator the project touches (NumPy drives the split,
``random`` is used by libraries, DataLoader workers have their own generators)."""

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch; ``deterministic`` trades speed for bit-identical runs on the
    same hardware (torch refuses non-deterministic kernels; no cuDNN autotuning)."""
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
    """Seed NumPy and ``random`` in a DataLoader worker (torch seeds only its own generator there,
    so augmentations using them would repeat across workers)."""
    del worker_id  # the per-worker torch seed already encodes it
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)
