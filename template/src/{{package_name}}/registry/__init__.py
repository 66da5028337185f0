"""Registry stage: register, promote and roll back released models (``make promote``, ``make rollback``)."""
