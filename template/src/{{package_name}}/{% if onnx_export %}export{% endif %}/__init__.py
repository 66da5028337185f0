"""Export stage: the trained model as ONNX, checked against PyTorch, measured and reported.

Run ``python -m <package>.export`` (or ``make export``) after training. The stage reads the
chosen run's best checkpoint and writes into that run (``paths.export_dir`` is its
``export/``, ``paths.export_report`` its ``export.json``):

* ``export/model.onnx``: the fp32 model; one input ``inputs`` (the tensor the
  PyTorch model takes, with a dynamic batch dimension), one output ``logits``;
* ``export/model.int8.onnx``: the same with INT8 weights, when quantization is on;
* ``export/preprocessor.json``: the fitted preprocessing that turns raw inputs
  into ``inputs``, so the folder is self-contained;
* ``export.json``: parity with PyTorch, file sizes against the deployment
  target's budget, test metrics of every exported model, and the library versions.

Modules: ``onnx_model`` (export and the files of a model), ``parity`` (onnxruntime
sessions and the PyTorch comparison), ``quantize`` (INT8, when generated), ``pipeline``
(the stage), ``__main__`` (the Hydra entry point).
"""
