"""One scoring run: this process's shard of ``INPUT`` through the server's model, into its output files."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ..core.console import Progress, log_summary
from ..core.errors import ProjectError
from ..core.service.backends import open_backend
from ..core.service.instances import InputSettings, create_codec
from ..core.service.model import choose_model, resolve_model_source
from .files import TableWriter, table_format
from .inputs import DESCRIBED, count_instances, create_encoder, read_instances
from .parts import part_path, rejects_path
from .scoring import empty_outputs, score_chunks
from .settings import PACKAGE, USAGE, PredictSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summary:
    """What a run scored and where it wrote it."""

    model_version: str
    shard: str
    scored: int
    rejected: int
    output: Path
    rejects: Path

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "output": str(self.output), "rejects": str(self.rejects)}


def check_paths(settings: PredictSettings) -> None:
    """Fail before the model loads when ``INPUT`` is missing or ``OUTPUT`` has no known format."""
    table_format(settings.output_path)
    if not settings.input_path.exists():
        raise ProjectError(
            f"input {settings.input_path} not found: point INPUT at a file or folder to score, {USAGE}."
        )


def score_input(cfg: DictConfig, settings: PredictSettings) -> Summary:
    """Score this process's shard of ``settings.input`` with the model ``settings.model`` names."""
    check_paths(settings)
    choice = choose_model(cfg, settings.model)
    source = resolve_model_source(choice.config, settings.runtime, choice.registered)
    limits = InputSettings.from_mapping(settings.input_limits, group="predict.input_limits")
    codec = create_codec(source.preprocessor, limits)
    backend = open_backend(source, settings.runtime)
    shard = settings.shard_of_process
    output = part_path(settings.output_path, shard)
    rejects = part_path(rejects_path(settings.output_path), shard)
    empty = empty_outputs(source, DESCRIBED)
    chunks = read_instances(settings.input_path, source.preprocessor, shard, settings.batch_size)
    rows = len(range(shard.index, count_instances(settings.input_path), shard.count))  # this shard's
    with (
        TableWriter(output, empty.predictions) as predictions,
        TableWriter(rejects, empty.rejects) as refused,
        Progress("predict", rows, unit="rows") as progress,
    ):
        for scored in score_chunks(chunks, create_encoder(codec), codec, backend, source):
            if len(scored.predictions):
                predictions.write(scored.predictions)
            if len(scored.rejects):
                refused.write(scored.rejects)
            progress.update(len(scored.predictions) + len(scored.rejects))
    summary = Summary(
        source.version, f"{shard.index}/{shard.count}", predictions.rows, refused.rows, output, rejects
    )
    report(summary, settings)
    return summary


def report(summary: Summary, settings: PredictSettings) -> None:
    """Log the run; fail when rows were read but none could be scored."""
    if summary.rejected and not summary.scored:
        raise ProjectError(
            f"no row of {settings.input} could be scored: all {summary.rejected} are listed in "
            f"{summary.rejects} with the reason. Fix those rows (or the model choice) and run again."
        )
    headline = (
        f"scored {summary.scored} row(s) of {settings.input} with {summary.model_version} "
        f"(shard {summary.shard}), {summary.rejected} rejected"
    )
    log_summary(log, "predict", headline, [summary.output, summary.rejects])
    if summary.shard != "0/1":
        log.info(
            "once every shard has finished: python -m %s.predict merge %s", PACKAGE, settings.output_path
        )
