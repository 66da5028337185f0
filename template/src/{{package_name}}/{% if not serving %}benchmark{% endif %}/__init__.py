"""Benchmark stage: ``python -m <package>.benchmark`` (``make benchmark``), local latency and
throughput of the trained model when the project has no server."""
