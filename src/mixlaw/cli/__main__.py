"""``python -m mixlaw.cli`` runs the command line (as ``mixlaw`` and ``python -m mixlaw`` do)."""

from . import main

main()
