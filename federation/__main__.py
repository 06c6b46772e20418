"""``python -m federation`` runs the command line."""

from federation.cli import run

run()
