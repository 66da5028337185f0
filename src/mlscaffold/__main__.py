"""``python -m mlscaffold`` runs the command-line interface."""

from mlscaffold.cli import app

app(prog_name="mlscaffold")
