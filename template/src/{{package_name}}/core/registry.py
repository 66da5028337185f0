"""The model registry: released versions, the ``champion`` and ``challenger`` aliases, an audit trail.

A folder (``paths.registry_dir``, ``artifacts/registry`` by default) that is the source of
truth of what is released:

* ``versions/<n>/``: a copy of the registered run's folder (model, preprocessor, reports,
  export) without training's resume state, so a release outlives its run folder and a
  deleted or corrupt model can be restored from it (docs/operations.md);
* ``registry.json``: each version's run, weights hash and registration time, the aliases,
  and the champions in the order they were promoted (what ``rollback`` walks back);
* ``audit.jsonl``: one line per register, promote and rollback: who, when, the version and
  run, the git commit, the data fingerprint, the metrics, the readiness report and the
  previous champion. Lines are appended, never rewritten.

Writers hold an exclusive lock on ``registry.lock`` (two promotions at once cannot both
become champion); every file is written atomically, a version folder is renamed into place
only once complete. The registry is plain files so that it works without a tracking
server; back it up like any release store.
"""

import fcntl
import getpass
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import write_text_atomically
from .errors import ProjectError
from .fingerprints import weights_sha256
from .runs import Run, utc_now

MANIFEST = "registry.json"
AUDIT_LOG = "audit.jsonl"
VERSIONS = "versions"
CHAMPION = "champion"
CHALLENGER = "challenger"
# Training's resume state: large, and of no use to a released model.
RESUME_STATE = ("last.pt", "last.pt.sha256", "checkpoint-*", "tensorboard")


class RegistryError(ProjectError):
    """The registry refuses an action (a run that failed its gate, nothing to roll back to...)."""


@dataclass(frozen=True)
class ServedVersion:
    """A registered version, resolved from an alias or a version id, for the server."""

    version: str
    folder: Path
    weights_sha256: str


def version_id(number: int) -> str:
    return f"v{number}"


def read_manifest(registry_dir: Path) -> dict[str, Any]:
    """``registry.json``, or an empty registry when nothing was registered yet."""
    path = registry_dir / MANIFEST
    if not path.is_file():
        return {"versions": {}, "aliases": {}, "champions": []}
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise RegistryError(
            f"{path} is not valid JSON ({error}); restore it from your backup of the registry folder."
        ) from error
    return manifest


def read_audit(registry_dir: Path) -> list[dict[str, Any]]:
    """Every audit entry, oldest first."""
    path = registry_dir / AUDIT_LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@contextmanager
def locked(registry_dir: Path) -> Iterator[dict[str, Any]]:
    """The manifest under an exclusive lock; written back (atomically) when the block succeeds."""
    registry_dir.mkdir(parents=True, exist_ok=True)
    with (registry_dir / "registry.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read_manifest(registry_dir)
        yield manifest
        write_text_atomically(registry_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def resolve(registry_dir: Path, reference: str) -> ServedVersion | None:
    """The version an alias (``champion``, ``challenger``) or id (``v3``, ``3``) names.

    ``None`` when the alias is not set yet; an unknown id is an error that lists the versions.
    """
    manifest = read_manifest(registry_dir)
    versions: dict[str, Any] = manifest["versions"]
    if reference in (CHAMPION, CHALLENGER):
        version = manifest["aliases"].get(reference)
        if version is None:
            return None
    else:
        version = reference if reference.startswith("v") else f"v{reference}"
        if version not in versions:
            known = ", ".join(versions) or "none yet (make promote RUN=<name>)"
            raise RegistryError(f"no model version {reference!r} in {registry_dir}; the versions: {known}.")
    entry = versions[version]
    return ServedVersion(version, registry_dir / VERSIONS / version, entry["weights_sha256"])


def check_intact(served: ServedVersion, model: Path) -> None:
    """Refuse a version whose model file is missing or differs from what was registered."""
    if not model.exists():
        raise RegistryError(
            f"model version {served.version} has no model at {model}: the registry folder was damaged; "
            "restore it from a backup (docs/operations.md)."
        )
    if weights_sha256(model) != served.weights_sha256:
        raise RegistryError(
            f"model version {served.version}'s weights ({model}) differ from the registered ones "
            "(weights_sha256): the file is corrupt or was replaced. Restore the version from a backup or "
            "roll back (`make rollback`); see docs/operations.md."
        )


def check_gate(readiness: dict[str, Any] | None, weights: str, run: str) -> None:
    """Only a run whose readiness gate passed, on exactly these weights, may be registered."""
    if readiness is None:
        raise RegistryError(f"run {run} has no readiness report: run `make readiness RUN={run}` first.")
    if readiness.get("weights_sha256") != weights:
        raise RegistryError(
            f"run {run}'s readiness report is of other weights than its model: run `make readiness RUN={run}` "
            "again."
        )
    if not readiness.get("ready"):
        blocking = ", ".join(readiness.get("blocking", [])) or "see readiness.json"
        raise RegistryError(
            f"run {run} failed its readiness gate (blocked by {blocking}); it cannot be registered. Fix what "
            "blocks it and run `make readiness` again."
        )


def register(
    registry_dir: Path, run: Run, model: Path, readiness: dict[str, Any] | None, record: dict[str, Any]
) -> tuple[str, bool]:
    """The version of the run's model: the one already registered for these weights, or a new one.

    Returns ``(version, new)``. ``model`` is the run's model file or folder; ``record`` is
    what the audit keeps of the run (metrics, fingerprints). Refused unless the run passed
    its readiness gate (:func:`check_gate`).
    """
    weights = weights_sha256(model)
    check_gate(readiness, weights, run.name)
    with locked(registry_dir) as manifest:
        versions: dict[str, Any] = manifest["versions"]
        for version, entry in versions.items():
            if entry["weights_sha256"] == weights:
                return version, False
        version = version_id(len(versions) + 1)
        copy_release(run.path, registry_dir / VERSIONS / version)
        versions[version] = {
            "run": run.name,
            "registered": utc_now(),
            "weights_sha256": weights,
            "model": model.relative_to(run.path).as_posix(),
            **record,
        }
    return version, True


def copy_release(run_folder: Path, destination: Path) -> None:
    """Copy the run's folder without its resume state, then rename it into place (never half there)."""
    partial = destination.with_name(f".{destination.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(run_folder, partial, ignore=shutil.ignore_patterns(*RESUME_STATE))
    shutil.rmtree(destination, ignore_errors=True)  # a version folder no manifest names (a crash)
    os.replace(partial, destination)


def set_alias(
    registry_dir: Path, alias: str, version: str, action: str, audit: dict[str, Any]
) -> dict[str, Any]:
    """Point ``alias`` at ``version`` and append the audit entry; returns the entry."""
    with locked(registry_dir) as manifest:
        aliases = manifest["aliases"]
        champion, previous = aliases.get(CHAMPION), aliases.get(alias)
        if previous == version:
            raise RegistryError(f"{version} is already the {alias}; nothing changed.")
        aliases[alias] = version
        if alias == CHAMPION:
            manifest["champions"].append(version)
            if aliases.get(CHALLENGER) == version:
                del aliases[CHALLENGER]  # the challenger won
        else:
            audit = {**audit, f"previous_{alias}": previous}
        entry = audit_entry(action, version, manifest, champion, audit)
        append_audit(registry_dir, entry)
    return entry


def rollback(registry_dir: Path, reason: str | None) -> dict[str, Any]:
    """Make the champion before the current one champion again; returns the audit entry."""
    with locked(registry_dir) as manifest:
        champions: list[str] = manifest["champions"]
        if len(champions) < 2:
            current = champions[-1] if champions else "none"
            raise RegistryError(
                f"nothing to roll back to: the champion is {current} and no earlier champion is recorded "
                "(make models lists the versions)."
            )
        previous = champions.pop()
        manifest["aliases"][CHAMPION] = champions[-1]
        entry = audit_entry("rollback", champions[-1], manifest, previous, {"reason": reason})
        append_audit(registry_dir, entry)
    return entry


def audit_entry(
    action: str, version: str, manifest: dict[str, Any], previous: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """Who, when, what: the audit line of an action on ``version``."""
    entry = manifest["versions"][version]
    return {
        "action": action,
        "when": utc_now(),
        "who": actor(),
        "version": version,
        "run": entry["run"],
        "previous_champion": previous,
        "weights_sha256": entry["weights_sha256"],
        **{key: entry.get(key) for key in ("git", "data_fingerprint", "metrics", "readiness")},
        **extra,
    }


def append_audit(registry_dir: Path, entry: dict[str, Any]) -> None:
    with (registry_dir / AUDIT_LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
        log.flush()
        os.fsync(log.fileno())


def actor() -> str:
    """Who acts: ``$REGISTRY_ACTOR`` (CI sets it to the pipeline's user), else the login name."""
    try:
        return os.environ.get("REGISTRY_ACTOR") or getpass.getuser()
    except (KeyError, OSError):  # no user database entry (some containers)
        return f"uid {os.getuid()}"


def git_state(folder: Path) -> dict[str, Any]:
    """The commit of the code being released and whether it had uncommitted changes (one
    ``git status`` call: the commit is its ``branch.oid`` line, a change any other line)."""
    try:
        status = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    commit = next((line.split()[2] for line in status if line.startswith("# branch.oid ")), None)
    return {
        "commit": None if commit == "(initial)" else commit,
        "dirty": any(not line.startswith("#") for line in status),
    }
