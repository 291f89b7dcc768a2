"""``python -m mixlaw.cli`` runs the command line as ``mixlaw`` and ``python -m mixlaw`` do
(:func:`_mixlaw_entry.main`): a Ctrl-C while the command runs is one line, ``interrupted``, and exit status 130.

Python imports ``mixlaw`` and ``mixlaw.cli`` before this module runs, so a Ctrl-C while they import is out of its
reach (the ``mixlaw`` console script catches that one too).
"""

from _mixlaw_entry import main

main()
