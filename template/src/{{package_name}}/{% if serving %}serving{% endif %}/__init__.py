"""The HTTP prediction server: ``python -m <package>.serve`` (or ``make serve``).

One concern per module:

* ``settings.py``: the ``serve`` config group, checked at start-up;
* ``model.py``: what is served (checkpoint or ONNX file, its preprocessing, its version)
  and turning model outputs into predictions;
* ``backends.py``: the forward pass, with PyTorch or ONNX Runtime behind one interface;
* ``instances.py``: the request schema of one instance and its encoding into the model's
  input tensor with the preprocessing of training (the only modality-specific module);
* ``schemas.py``: request, response and error bodies shared by every modality;
* ``batching.py``: dynamic batching of concurrent requests on one inference thread;
* ``metrics.py``: the Prometheus metrics; ``logs.py``: JSON logs with request ids;
* ``middleware.py``: request ids, access logs, request metrics and API-key checks;
* ``app.py``: the FastAPI application; ``factory.py``: what each uvicorn worker imports;
* ``process.py``: a server in a child process; ``loadgen.py``: the load test's generator.

``instances.py`` is the only file that differs between variants. It provides
``InputSettings`` (the ``serve.input`` limits), ``create_codec(preprocessor, settings)``
returning a :class:`schemas.Codec` (the pydantic schema of one instance, an example, and
the encoder into the model's input with the fitted preprocessing), and
``example_instances(data, split, count)`` (real instances for tests and the load test).
A variant whose model takes something other than one tensor adds a backend in
``backends.py`` behind the same ``predict(inputs) -> outputs`` interface.
"""
