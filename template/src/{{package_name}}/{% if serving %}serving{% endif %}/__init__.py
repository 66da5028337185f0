"""Serving stage: the HTTP prediction server, ``python -m <package>.serving`` (or ``make serve``).

One concern per module; what the load test shares with the server (settings, the served
model, backends, request schemas and encoding, the child process) is in ``core/service/``:

* ``batching.py``: dynamic batching of concurrent requests on one inference thread;
* ``metrics.py``: the Prometheus metrics; ``logs.py``: logs with request ids (JSON, or text in a terminal);
* ``middleware.py``: request ids, access logs, request metrics and API-key checks;
* ``drift.py``: the rolling window of request inputs checked against the reference profile;
* ``app.py``: the FastAPI application; ``factory.py``: what each uvicorn worker imports.

A variant whose model takes something other than one tensor adds a backend in
``core/service/backends.py`` behind the same ``predict(inputs) -> outputs`` interface.
"""
