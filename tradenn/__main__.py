"""``python -m tradenn`` runs the command-line interface."""

from tradenn.cli import main

main()
