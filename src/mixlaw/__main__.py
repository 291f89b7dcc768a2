"""``python -m mixlaw`` runs the command line as the ``mixlaw`` console script does (:func:`_mixlaw_entry.main`): a
Ctrl-C while :mod:`mixlaw.cli` imports (typer, rich, every command module) or while the command runs is one line,
``interrupted``, and exit status 130, where it printed a KeyboardInterrupt traceback.

Python imports the package (``mixlaw/__init__``: numpy, scipy, pandas) before this module runs, so a Ctrl-C in those
seconds is out of its reach; only the console script, a module outside the package, catches that one too.
"""

from _mixlaw_entry import main

main()
