"""Content hashes that name what a report measured: the model's weights, and the code tested.

Kept apart from artifacts.py: the release stages, the server and the tests use them;
training does not.
"""

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def weights_sha256(path: Path) -> str:
    """SHA-256 of a model's weights: a weights file, or a model folder's ``*.safetensors`` files.

    Reports and the server name the model by it, so a report can be matched to the weights
    it describes (paths stay the same when a model is retrained; the hash does not).
    """
    digest = hashlib.sha256()
    for file in sorted(path.glob("*.safetensors")) if path.is_dir() else [path]:
        update_with_file(digest, file)
    return digest.hexdigest()


def update_with_file(digest: Any, file: Path) -> None:
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):  # constant memory for any size
            digest.update(chunk)


def data_fingerprint(config: Mapping[str, Any]) -> str:
    """SHA-256 of what decides a run's data: the ``data`` settings, the seed (which draws the
    split), and the contents of every file or folder those settings name.

    ``config`` is a run's resolved config (its ``config.yaml``). The registry records it
    with each release, so an audit can tell whether two models saw the same data.
    """
    data = config.get("data", {})
    digest = hashlib.sha256(json.dumps({"data": data, "seed": config.get("seed")}, sort_keys=True).encode())
    for value in sorted(str(value) for value in data.values() if isinstance(value, str)):
        path = Path(value)
        files = sorted(item for item in path.rglob("*") if item.is_file()) if path.is_dir() else [path]
        for file in (file for file in files if file.is_file()):
            digest.update(f"{file.as_posix()}\n".encode())
            update_with_file(digest, file)
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
