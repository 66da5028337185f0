"""The owners' waivers of readiness checks: ``waivers`` in ``configs/readiness/``.

A check that applies to the project but has no measurement blocks the release (see
``readiness.py``): what was not measured was not shown to work. When the owners decide to
release without one (no staging machine for the load test yet, say), they name the check
and write why::

    waivers:
      p99 latency: measured on the staging cluster after deployment, ticket OPS-123

The gate then reports the check as ``waived`` with its reason, and the model card lists it
(its ``waivers`` block), so whoever reads the card sees what was released unmeasured and why.

A waiver only stands in for a missing measurement. A check that was measured and failed, or
whose report describes other weights than the current model's, still fails: waiving a
result that is known to be bad, or old, would hide it. Waivers are refused, with the fix,
when they name no check of the gate, a check that is always measured, or give no reason.
"""

from collections.abc import Mapping
from typing import Any

from .errors import ProjectError
from .placeholders import is_placeholder_like

WHERE = "`waivers` in configs/readiness/default.yaml"
# The checks that can lack a measurement, and when they do.
WAIVABLE = {
    "model size": "no size budget is set (readiness.model_size_budget_mb: null)",
    "p99 latency": "the load test (or, without a server, the local benchmark) has not run",
    "throughput": "the load test (or, without a server, the local benchmark) has not run",
    "export parity": "the ONNX export has not run",
    "fairness": "the fairness stage has not run",
    "explanations": "the explain stage has not run",
    "tests": "the project's tests have not run (make test-all)",
}
# Checks that are always measured: a waiver could only hide their result.
ALWAYS_MEASURED = {
    "test metric": "it is measured by every evaluation (a missing metrics.json means no model was evaluated)",
    "documentation": "it reads the documents, which always exist; write the open entries instead",
}


def read_waivers(values: Any) -> dict[str, str]:
    """``waivers`` as ``{check name: reason}``; refuses anything that is not a usable waiver."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ProjectError(
            f"{WHERE}: waivers must map check names to reasons, e.g. "
            "`waivers: {p99 latency: measured on staging after deployment}`; got "
            f"{type(values).__name__}."
        )
    waivers: dict[str, str] = {}
    for name, reason in values.items():
        check = str(name).strip()
        if check in ALWAYS_MEASURED:
            raise ProjectError(f"{WHERE}: '{check}' cannot be waived: {ALWAYS_MEASURED[check]}.")
        if check not in WAIVABLE:
            raise ProjectError(
                f"{WHERE}: waiver of an unknown check '{check}'; the checks that can be waived are: "
                f"{', '.join(WAIVABLE)}."
            )
        if not isinstance(reason, str) or is_placeholder_like(reason):
            raise ProjectError(
                f"{WHERE}: the waiver of '{check}' gives no reason ({reason!r}); write why the release "
                f"may ship without it (who decided, and when or where it will be measured), e.g. "
                f"`{check}: measured on the staging cluster after deployment, ticket OPS-123`."
            )
        waivers[check] = " ".join(reason.split())
    return waivers
