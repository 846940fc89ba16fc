"""``python -m tradenn`` runs the command-line interface."""

from tradenn.cli import app

app(prog_name="tradenn")
