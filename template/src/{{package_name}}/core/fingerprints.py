"""Content hashes that name what a report measured: the model's weights, and the code tested.

Kept apart from artifacts.py: the release stages, the server and the tests use them;
training does not.
"""

import hashlib
from pathlib import Path


def weights_sha256(path: Path) -> str:
    """SHA-256 of a model's weights: a weights file, or a model folder's ``*.safetensors`` files.

    Reports and the server name the model by it, so a report can be matched to the weights
    it describes (paths stay the same when a model is retrained; the hash does not).
    """
    digest = hashlib.sha256()
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 20):  # constant memory for any size
                digest.update(chunk)
    return digest.hexdigest()


def code_sha256(folders: list[Path]) -> str:
    """SHA-256 of the Python files under ``folders`` (their paths and contents).

    ``make test-all`` records it in its result file, so the readiness gate can tell whether the
    tests ran on the code being released (modification times change on a checkout or a
    copy; the contents do not).
    """
    digest = hashlib.sha256()
    for folder in folders:
        for file in sorted(folder.rglob("*.py")):
            content = file.read_bytes()
            digest.update(f"{folder.name}/{file.relative_to(folder).as_posix()} {len(content)}\n".encode())
            digest.update(content)
    return digest.hexdigest()
