"""Load test stage: ``python -m <package>.loadtest`` (``make loadtest``) drives a real server
(``core/service/process.py``) with ``loadgen.py`` and reports latency against the budget."""
