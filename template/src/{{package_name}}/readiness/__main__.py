"""Readiness gate: the release checklist, run against the artifacts of one training run.

Run ``python -m <package>.readiness`` (or ``make readiness``) after ``make train`` and
``make evaluate``: it checks the chosen run (``paths.run``: the latest by default,
``make readiness RUN=<name>`` for another), whose reports the release stages wrote into its
folder. Each requirement of the project becomes a check with a status:

* ``pass`` / ``fail``: measured and compared with its target;
* ``not measured``: the check applies to this project but nothing measured it: its report
  is missing (latency needs the serving load test, or in a project without a server the
  local benchmark; parity needs the ONNX export, fairness the fairness report, explanations
  the explain stage, the tests line the result file ``make test-all`` writes), or it has no
  target (a model-size budget of null). It blocks the release like a failure: what was not
  measured was not shown to work;
* ``waived``: not measured, and the owners release without it on purpose: ``waivers`` in
  ``configs/readiness/`` names the check and why (``waivers.py``). The reason is printed,
  written to ``readiness.json`` and listed in the model card. A waiver never covers a
  measured failure or a stale report;
* ``not applicable`` / ``not requested``: the project has no such stage (no ONNX export,
  no fairness checks or explanations when generated).

Every report names the weights it measured (``weights_sha256``, or ``model.sha256`` in
``explanations.json``; see ``fingerprints.weights_sha256``). A report of other weights than
the current model's is stale: its check fails, naming the report and the command that
measures the current model. The tests line is tied to the code instead: ``make test-all``
records a hash of ``src/`` and ``tests/`` (``fingerprints.code_sha256``) in its result file.

Every check can fail: the test metric below its target, the model over its deployment
target's size budget (every target has one), latency or throughput off target, parity off
tolerance or any output that is not a finite number, a fairness threshold, explanations
whose attributions do not add up within ``explain.completeness_tolerance`` (``configs/explain.yaml``),
an owners' entry of the documents still open or holding a placeholder such as ``TBD``, and
failing tests.

Once ``make export`` has run, export parity and the model size are read from its report
(``export.json``). When the export wrote an INT8 model, that is the model that ships: the
size is that of the INT8 file and the test metric is the INT8 model's (the PyTorch metric
is shown beside it).

The gate prints a table, writes ``readiness.json`` and exits 1 unless every check passes,
is waived or does not apply, so CI can block a release on it. Targets come from
``configs/readiness/`` (the answers given when the project was generated) and can be made
stricter on the command line.
"""

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR, PROJECT_ROOT, to_plain
from ..core.console import paint
from ..core.errors import exit_on_user_error
from ..core.reporting import write_json
from ..core.run_lookup import register_run_dir_resolver
from ..core.waivers import read_waivers
from .checklist import Check, apply_waivers, blocking, format_table
from .checks import (
    current_weights,
    documents_check,
    explanations_check,
    explanations_tolerance,
    export_parity_check,
    fairness_checks,
    latency_checks,
    metric_check,
    model_size_check,
    read_report,
)
from .test_results import CODE_FOLDERS, project_tests_check


def optional_path(value: Any) -> Path | None:
    return Path(value) if value else None


def run_checks(settings: dict[str, Any]) -> list[Check]:
    """Every check of the gate, before waivers are applied."""
    readiness, paths = settings["readiness"], settings["paths"]
    checkpoint = Path(paths["checkpoint"])
    current = current_weights(checkpoint)
    # A stage this project does not have has no path in configs/paths/: not applicable.
    export_path = optional_path(paths.get("export_report"))
    export = read_report(export_path, current, "make export")
    fairness_path = optional_path(paths.get("fairness"))
    explanations_path = optional_path(paths.get("explanations"))
    return [
        metric_check(
            read_report(Path(paths["metrics"]), current, "make evaluate"),
            readiness["target_metric"],
            readiness["target_metric_value"],
            export,
        ),
        model_size_check(
            checkpoint, readiness.get("model_size_budget_mb"), readiness["deployment_target"], export
        ),
        *latency_checks(settings, current),
        export_parity_check(export_path is not None, export),
        *fairness_checks(read_report(fairness_path, current, "make fairness"), fairness_path is not None),
        explanations_check(
            read_report(explanations_path, current, "make explain"),
            explanations_tolerance() if explanations_path is not None else None,
            explanations_path is not None,
        ),
        documents_check(list(readiness["documents"])),
        project_tests_check(Path(paths["test_results"]), [PROJECT_ROOT / folder for folder in CODE_FOLDERS]),
    ]


def run_readiness(cfg: DictConfig) -> tuple[bool, list[Check]]:
    """Run every check, apply the waivers, write ``readiness.json``; returns (ready, checks)."""
    settings = to_plain(cfg)
    waivers = read_waivers(settings["readiness"].get("waivers"))
    checks, unused = apply_waivers(run_checks(settings), waivers)
    blockers = blocking(checks)
    ready = not blockers
    output = settings["paths"]["readiness"]
    write_json(
        Path(output),
        {
            "ready": ready,
            "weights_sha256": current_weights(Path(settings["paths"]["checkpoint"])),
            "blocking": [check.name for check in blockers],
            "checks": [asdict(check) for check in checks],
            "waivers": waivers,
            "unused_waivers": unused,
        },
    )
    print(format_table(checks, unused))
    if ready:
        print(f"\nready for release: {paint('yes', 'pass')} (details in {output})")
    else:
        reasons = ", ".join(f"{check.name} ({check.status})" for check in blockers)
        print(f"\nready for release: {paint('NO', 'fail')}, blocked by {reasons} (details in {output})")
    return ready, checks


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="readiness")
def main(cfg: DictConfig) -> None:
    def gate() -> None:
        ready, _ = run_readiness(cfg)
        if not ready:
            sys.exit(1)

    exit_on_user_error(gate)


if __name__ == "__main__":
    main()
