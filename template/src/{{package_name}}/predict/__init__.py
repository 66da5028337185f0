"""Batch scoring: ``python -m <package>.predict INPUT OUTPUT`` (``make predict``).

Scores a file, or a folder of files, of any size in bounded memory and writes one prediction
per input row, through the server's own code (``core/service``): the same model choice
(``predict.model``: run, an alias or a version), instance checks and encoding
(``instances.py``), forward pass (``backends.py``) and outputs-to-predictions
(``model.py``), so a row scored here predicts exactly what ``POST /v1/predict`` answers for it.

* ``__main__.py``: the command line (``INPUT OUTPUT``, ``merge OUTPUT``, ``--shard``) and Hydra;
* ``run.py``: one run, from the model choice to the output files;
* ``settings.py``: the ``predict`` config group and the shard of this process;
* ``files.py``: reading and writing CSV, JSON Lines and Parquet in chunks (atomically);
* ``inputs.py``: the modality's input rows, streamed chunk by chunk, as instances (for tables,
  ``records.py`` turns rows into the server's instances);
* ``scoring.py``: one chunk of instances -> predictions and rejected rows;
* ``parts.py``: the files of a sharded run and merging them into one result.
"""
