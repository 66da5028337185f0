"""Monitoring stage: ``python -m <package>.monitoring drift.batch=<file>`` (``make drift``)
checks a batch of inputs against the training inputs' reference profile (``core/drift/``)."""
