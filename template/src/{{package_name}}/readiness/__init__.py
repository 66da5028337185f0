"""Readiness stage: ``python -m <package>.readiness`` (``make readiness``), the release gate."""
