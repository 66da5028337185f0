"""mlscaffold: a requirements interview that renders a production-grade ML project."""

__version__ = "0.1.0"
