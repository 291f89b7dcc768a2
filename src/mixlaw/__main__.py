"""``python -m mixlaw`` runs the command line."""

from .cli import main

main()
