"""The model's runtime, shared by the ``serving``, ``loadtest`` and ``predict`` stages.

Rendered in every project, because batch scoring (``predict``) encodes, runs and answers exactly as
the server does; the server's own settings and child process come only with ``serving``:

* ``model.py``: which model (checkpoint or ONNX file, its preprocessing, its version), how it
  runs (:class:`~.model.Runtime`), and turning model outputs into predictions;
* ``backends.py``: the forward pass, with PyTorch or ONNX Runtime behind one interface;
* ``instances.py``: the schema of one instance and its encoding into the model's input tensor
  with the preprocessing of training (the only modality-specific module);
* ``schemas.py``: request, response and error bodies shared by every modality;
* ``settings.py`` (serving only): the ``serve`` config group, checked at start-up;
* ``process.py`` (serving only): a server in a child process (``python -m <package>.serving``).
"""
