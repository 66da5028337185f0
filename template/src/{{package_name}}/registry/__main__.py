"""Registry stage: the released models (``make promote``, ``make rollback``, ``make models``).

``python -m <package>.registry registry.action=<action> [paths.run=<run>] [registry.reason="..."]``:

* ``promote``: register the run's model (once per weights) and make it the ``champion``,
  which ``make serve`` serves. Refused unless the run's readiness gate passed on its current
  weights (``make promote`` runs the gate first);
* ``register``: the same gate, but the version becomes the ``challenger``: canary or shadow
  serving tries it beside the champion (``serve.rollout``) before it is promoted;
* ``rollback``: the champion before the current one becomes champion again;
* ``list``: the versions, the aliases and the latest audit entries;
* ``verify``: check every version's model against its registered hash (exit 1 on a mismatch).

Each action is recorded in ``<registry>/audit.jsonl`` (core/registry.py): who (the login
name, or ``$REGISTRY_ACTOR`` in CI), when, the version and run, the git commit and whether
the code had uncommitted changes, the data fingerprint, the metrics, the readiness report,
the previous champion, and ``registry.reason`` when given. docs/operations.md is the runbook.
"""

import json
import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ..core.config import CONFIG_DIR, PROJECT_ROOT
from ..core.errors import ProjectError, exit_on_user_error
from ..core.fingerprints import data_fingerprint, weights_sha256
from ..core.registry import (
    CHALLENGER,
    CHAMPION,
    VERSIONS,
    RegistryError,
    git_state,
    read_audit,
    read_manifest,
    register,
    rollback,
    set_alias,
)
from ..core.run_lookup import find_run, register_run_dir_resolver

log = logging.getLogger(__name__)
ACTIONS = ("promote", "register", "rollback", "list", "verify")


def read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def release_record(paths: dict[str, Any]) -> dict[str, Any]:
    """What the registry and its audit keep of a run: metrics, readiness, code and data fingerprints."""
    config = OmegaConf.to_container(OmegaConf.load(paths["resolved_config"]), resolve=False)
    readiness = read_json(Path(paths["readiness"])) or {}
    return {
        "git": git_state(PROJECT_ROOT),
        "data_fingerprint": data_fingerprint(config) if isinstance(config, dict) else None,
        # The test split's metrics as `make evaluate` measured them.
        "metrics": (read_json(Path(paths["metrics"])) or {}).get("metrics"),
        "readiness": {
            "ready": readiness.get("ready"),
            "blocking": readiness.get("blocking"),
            "checks": {check["name"]: check["status"] for check in readiness.get("checks", [])},
            "waivers": readiness.get("waivers"),
        },
    }


def release(cfg: DictConfig, alias: str, reason: str | None) -> dict[str, Any]:
    """Register the chosen run's model (gate first) and point ``alias`` at it; returns the audit entry."""
    paths = OmegaConf.to_container(cfg.paths, resolve=True)
    assert isinstance(paths, dict)
    registry_dir = Path(paths["registry_dir"])
    run = find_run(Path(paths["runs_dir"]), str(paths["run"]))
    version, new = register(
        registry_dir,
        run,
        Path(paths["checkpoint"]),
        read_json(Path(paths["readiness"])),
        release_record(paths),
    )
    action = "promote" if alias == CHAMPION else "register"
    entry = set_alias(registry_dir, alias, version, action, {"reason": reason, "new_version": new})
    previous = entry.get(f"previous_{alias}", entry["previous_champion"])
    print(f"{version} (run {run.name}) is now the {alias}; previous {alias}: {previous or 'none'}")
    return entry


def verify(registry_dir: Path) -> list[str]:
    """The versions whose model no longer matches its registered hash (missing or changed)."""
    damaged = []
    for version, entry in read_manifest(registry_dir)["versions"].items():
        model = registry_dir / VERSIONS / version / entry["model"]
        if not model.exists() or weights_sha256(model) != entry["weights_sha256"]:
            damaged.append(version)
    return damaged


def describe(registry_dir: Path) -> str:
    """The versions and aliases, and the last audit entries (``make models``)."""
    manifest = read_manifest(registry_dir)
    aliases = {version: alias for alias, version in manifest["aliases"].items()}
    lines = [f"registry {registry_dir}:"]
    for version, entry in manifest["versions"].items():
        metrics = entry.get("metrics") or {}
        headline = ", ".join(
            f"{key} {value:.4f}" for key, value in metrics.items() if isinstance(value, float)
        )
        mark = f" [{aliases[version]}]" if version in aliases else ""
        lines.append(f"  {version}{mark}  run {entry['run']}  registered {entry['registered']}  {headline}")
    if not manifest["versions"]:
        lines.append("  no versions yet: make promote RUN=<name>")
    for entry in read_audit(registry_dir)[-5:]:
        lines.append(f"  audit: {entry['when']} {entry['who']} {entry['action']} {entry['version']}")
    return "\n".join(lines)


def run_registry(cfg: DictConfig) -> dict[str, Any] | None:
    """The registry stage as a function of its config; returns the audit entry of a change."""
    action, reason = str(cfg.registry.action), cfg.registry.get("reason")
    if action not in ACTIONS:
        raise ProjectError(f"registry.action must be one of {', '.join(ACTIONS)}, got {action!r}.")
    registry_dir = Path(str(cfg.paths.registry_dir))
    if action in ("promote", "register"):
        return release(cfg, CHAMPION if action == "promote" else CHALLENGER, reason)
    if action == "rollback":
        entry = rollback(registry_dir, reason)
        print(f"rolled back: {entry['version']} is the champion again (was {entry['previous_champion']})")
        return entry
    if action == "verify":
        damaged = verify(registry_dir)
        if damaged:
            raise RegistryError(
                f"damaged model version(s) {', '.join(damaged)}: restore them from a backup (docs/operations.md)."
            )
        print(f"every version in {registry_dir} matches its registered weights")
        return None
    print(describe(registry_dir))
    return None


# configs/paths/ find the run to register through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="registry")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_registry(cfg))


if __name__ == "__main__":
    main()
