"""The training side of ``make tune``: each epoch's validation metric goes to the tuner, which
answers whether the trial goes on or is pruned.

The tuner (``tuning/``) starts every trial as ``python -m <package>.training`` with this
callback added (``+callbacks.trial_report``) and two pipes: it reads one JSON line per
validation from ``report_fd`` and answers one byte on ``verdict_fd``, ``c`` to continue or
``p`` to prune. A pruned trial stops after the current epoch, like early stopping, so its run
is complete and its checkpoints are kept. The tuner holds the Optuna trial: training needs no
Optuna, and neither stage imports the other.
"""

import json
import os

from .callbacks import Callback, FitState

CONTINUE, PRUNE = b"c", b"p"


class TrialReport(Callback):
    """Report ``monitor`` after every validation and stop when the tuner prunes the trial."""

    def __init__(self, monitor: str, report_fd: int, verdict_fd: int) -> None:
        self.monitor = monitor
        self.reports = os.fdopen(report_fd, "w", buffering=1, encoding="utf-8")  # one line per report
        self.verdicts = os.fdopen(verdict_fd, "rb", buffering=0)
        self.step = 0

    def on_validation_end(self, state: FitState, metrics: dict[str, float]) -> None:
        self.step += 1
        self.reports.write(json.dumps({"step": self.step, "value": metrics.get(self.monitor)}) + "\n")
        if self.verdicts.read(1) == PRUNE:
            state.should_stop = True

    def close(self) -> None:
        self.reports.close()
        self.verdicts.close()
