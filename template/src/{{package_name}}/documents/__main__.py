"""Re-render the model card and the datasheet from a run's artifacts: ``python -m <package>.documents``.

Run it (or ``make model-card``) after the stages that measure something: ``make evaluate``
(test metrics), ``make fairness``, ``make export``, ``make loadtest``. It
rewrites only the regenerated blocks (between ``<!-- measured:NAME:start -->`` and
``<!-- measured:NAME:end -->``) and the ``model-index`` of the card's front matter; every
other line of the documents is the owners' and stays as they wrote it. The blocks link the
run's figures (``paths.figures_dir``) by paths relative to each document. The ``targets`` block
(in the card and the README) states the release targets from ``configs/readiness/`` (and the
fairness thresholds), so a changed target never leaves a document contradicting the gate.
What has not been measured yet reads "Not measured yet" with the command to run. The
measurements are those of the chosen run (``paths.run``: the latest by default,
``make model-card RUN=<name>``). The card's ``waivers`` block
lists the readiness checks the owners release without measuring, with their reasons, from
``waivers`` in ``configs/readiness/`` (the config the gate reads). It ends by listing the
entries only people can fill that are still open (the readiness gate checks the same).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from ..core.atomic import write_text_atomically
from ..core.config import CONFIG_DIR, PROJECT_ROOT, settings_from_mapping, to_plain
from ..core.errors import ProjectError, exit_on_user_error
from ..core.run_lookup import register_run_dir_resolver
from ..core.runs import LATEST, RunError, list_runs
from ..core.waivers import read_waivers
from . import (
    ArtifactFiles,
    CardSettings,
    ReleaseTargets,
    block_contents,
    find_blocks,
    model_index,
    read_measurements,
    replace_blocks,
    unfilled_entries,
)
from .front_matter import with_model_index

MODEL_CARD = "model_card"  # the document whose front matter carries the model-index


@dataclass(frozen=True)
class DocumentUpdate:
    """One document after the re-render: whether it changed, and what the owners still have to fill."""

    path: Path
    text: str
    changed: bool
    unfilled: list[str]


def project_path(path: str) -> Path:
    """Relative paths are taken from the project root, so the command works from any folder."""
    return PROJECT_ROOT / path


def render_document(
    path: Path,
    contents: dict[str, str],
    index: list[dict[str, Any]] | None,
    *,
    front_matter: bool,
    owners_entries: bool = True,
) -> DocumentUpdate:
    """The new text of one document (not written yet).

    ``owners_entries``: whether the document has entries only people can fill (the card and
    the datasheet); the README only carries regenerated blocks among its prose, some of them
    another command's (``make test-times`` writes its ``test-times`` block), kept as they are.
    """
    if not path.is_file():
        raise ProjectError(
            f"{path} not found. Restore it from version control (git checkout -- {path}), or point "
            "model_card.documents.<name> at the document to render."
        )
    old = path.read_text(encoding="utf-8")
    if not owners_entries:
        blocks = find_blocks(old, str(path))
        kept = {block.name: old[block.content_start : block.content_end] for block in blocks}
        contents = {**kept, **contents}
    new = replace_blocks(old, contents, str(path))
    if front_matter:
        new = with_model_index(new, index, str(path))
    return DocumentUpdate(path, new, new != old, unfilled_entries(new) if owners_entries else [])


def run_files(cfg: DictConfig) -> ArtifactFiles:
    """The chosen run's reports; before the first training run, none (all "Not measured yet").

    Fresh documents read the same before any run as after ``make model-card``; an unknown run
    name is still an error, and so is a folder of runs none of which finished.
    """
    try:
        return ArtifactFiles.from_paths(to_plain(cfg.paths))
    except RunError:
        if cfg.paths.run != LATEST or list_runs(Path(cfg.paths.runs_dir)):
            raise
        return ArtifactFiles.from_paths({})


def run_model_card(cfg: DictConfig) -> list[DocumentUpdate]:
    """Re-render every document of ``documents``; nothing is written unless all of them render."""
    settings = {key: to_plain(cfg[key]) for key in ("model_card", "readiness", "fairness") if key in cfg}
    stage = settings["model_card"]
    files = run_files(cfg)
    card = settings_from_mapping(CardSettings, stage["card"], group="model_card.card", error=ProjectError)
    measurements = read_measurements(files)
    targets = ReleaseTargets.from_configs(settings["readiness"], settings.get("fairness"))
    waivers = read_waivers(settings["readiness"].get("waivers"))
    index = model_index(measurements, card)

    def contents(path: Path) -> dict[str, str]:  # figures are linked relative to each document
        return block_contents(measurements, card, targets, waivers, document_dir=path.parent)

    documents = [project_path(path) for path in stage["documents"].values()]
    block_only = [project_path(path) for path in stage["block_only_files"].values()]
    updates = [
        render_document(path, contents(path), index, front_matter=name == MODEL_CARD)
        for name, path in zip(stage["documents"], documents, strict=True)
    ] + [
        render_document(path, contents(path), None, front_matter=False, owners_entries=False)
        for path in block_only
    ]
    for update in updates:
        if update.changed:
            write_text_atomically(update.path, update.text)  # never half a document
        print(f"{update.path}: {'updated' if update.changed else 'already up to date'}")
    open_entries = [(update.path, entry) for update in updates for entry in update.unfilled]
    if open_entries:
        print("\nstill to be filled by the owners:")
        print("\n".join(f"  - {path.name}: {entry}" for path, entry in open_entries))
    return updates


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="model_card")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_model_card(cfg))


if __name__ == "__main__":
    main()
