"""The served model's runtime, shared by the ``serving`` stage and the ``loadtest`` stage.

* ``settings.py``: the ``serve`` config group, checked at start-up;
* ``model.py``: what is served (checkpoint or ONNX file, its preprocessing, its version)
  and turning model outputs into predictions;
* ``backends.py``: the forward pass, with PyTorch or ONNX Runtime behind one interface;
* ``instances.py``: the request schema of one instance and its encoding into the model's
  input tensor with the preprocessing of training (the only modality-specific module);
* ``schemas.py``: request, response and error bodies shared by every modality;
* ``process.py``: a server in a child process (``python -m <package>.serving``).
"""
