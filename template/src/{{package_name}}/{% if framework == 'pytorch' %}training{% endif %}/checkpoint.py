"""Checkpoint files: atomic writes, verified loads, and the RNG state that makes resume exact.

A checkpoint written in place can be left half-written by a crash or a SIGKILL, and the
next ``resume`` would fail on a corrupt file. Writing to a temporary file in the same
folder and renaming it is atomic on POSIX and Windows, so a checkpoint file is always
either the previous complete one or the new complete one (see ``atomic.py``, which also
removes the temporary file a killed save leaves behind, at the next save of that file or
when the next run starts).

Each checkpoint is hashed while it is still the temporary file, and the hash is recorded
beside it (``best.pt.sha256``). Every loader goes through :func:`load_checkpoint`, which
compares the file with that hash first: a checkpoint damaged on disk is refused with its
name instead of being evaluated, resumed, exported or served (see ``integrity.py``).

Loading uses ``weights_only=True``: a checkpoint is data, and unpickling arbitrary objects
from a file is code execution. Everything saved here is therefore plain tensors, numbers,
strings, lists and dicts.
"""

import hashlib
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_writer, remove_stale_temporaries
from ..errors import CheckpointError
from ..integrity import checksum_path, update_with_stream, verify_file, write_file_checksum

PACKAGE = __name__.split(".")[0]
BEST_CHECKPOINT = "best.pt"  # the epoch with the best monitored validation metric
LAST_CHECKPOINT = "last.pt"  # the latest completed epoch: what a resume continues from


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename), then its checksum.

    The previous checksum is deleted just before the rename and the new one written just
    after it, so a kill at any moment leaves a checkpoint with its own checksum or with none
    (loaded with a warning), never the new checkpoint with the old checksum (refused).
    """
    with atomic_writer(path) as handle:
        torch.save(state, handle)
        handle.flush()
        handle.seek(0)  # hash exactly the bytes the rename puts in place
        digest = hashlib.sha256()
        update_with_stream(digest, handle)
        checksum_path(path).unlink(missing_ok=True)
    write_file_checksum(path, digest.hexdigest())


def remove_interrupted_saves(checkpoint_dir: Path) -> None:
    """Delete what killed saves of ``best.pt``/``last.pt`` (and their checksums) left in the folder.

    The Trainer calls this when a run starts, so a leftover never outlives the next run,
    even one that stops before its first save.
    """
    for name in (BEST_CHECKPOINT, LAST_CHECKPOINT):
        checkpoint = checkpoint_dir / name
        remove_stale_temporaries(checkpoint)
        remove_stale_temporaries(checksum_path(checkpoint))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`: checksum first, and no pickled objects.

    A checkpoint whose bytes differ from those recorded at save time raises
    :class:`CheckpointError` naming it; one without a recorded checksum (saved by an earlier
    version of the project) loads with a warning.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint at {path}. Train first (python -m {PACKAGE}.train), or pass the "
            "path of an existing checkpoint."
        )
    verify_file(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or foreign files
        raise CheckpointError(
            f"cannot load checkpoint {path}: {error}. The file may be truncated or not a "
            "checkpoint of this project; retrain or point at another checkpoint."
        ) from error


def capture_rng_state() -> dict[str, Any]:
    """The state of every generator training draws from (Python, NumPy, torch, CUDA)."""
    numpy_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "algorithm": numpy_state[0],
            "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
            "position": int(numpy_state[2]),
            "has_gauss": int(numpy_state[3]),
            "cached_gaussian": float(numpy_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put every generator back to a state captured by :func:`capture_rng_state`."""
    version, internal_state, gauss_next = state["python"]
    random.setstate((version, tuple(internal_state), gauss_next))
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["algorithm"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
