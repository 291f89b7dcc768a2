"""Getting runs in from other tools: column maps, Olmix's ratio/metric pair, Weights & Biases, TensorBoard, Ye et
al.'s training logs.

Every importer ends in a validated :class:`~mixlaw.data.RunTable`; what differs is where the columns come
from. A *column map* says which source column holds what::

    run=Name, params=model/n_params, step=_step, tokens=trainer/tokens   # one column each
    w:web=mixture/web, loss:pile=eval/pile/loss                          # one domain / eval set
    w:*=mixture/*, loss:*=eval/*/loss                                    # every column matching the pattern

given inline (``--columns``) or as a YAML / JSON file, flat (``{"w:*": "mixture/*", ...}``) or grouped
(``{weights: "mixture/*", evals: {pile: "eval/pile/loss"}, run: Name, step: _step}``). Columns already
named ``run``/``w:``/``loss:``/``params``/``step``/``tokens`` pass through unless the map says otherwise;
other columns are dropped.

One module per kind of source: :mod:`.columns` (a table under other names, and the helpers the others share),
:mod:`.pairs` (Olmix's and RegMix's pairs of files), :mod:`.logs` (W&B, TensorBoard) and :mod:`.ye` (Ye et al.'s
``data/<set>/<size>.txt`` logs).
"""

from __future__ import annotations

from .columns import apply_column_map, join_mixtures, parse_column_map, read_runs_mapped
from .logs import runs_from_tensorboard, runs_from_wandb
from .pairs import read_any_runs, read_olmix_pair, read_pair
from .ye import is_ye_log, read_ye_base, read_ye_logs, read_ye_logs_with_base, ye_logs_given

__all__ = ["read_any_runs", "parse_column_map", "apply_column_map", "read_runs_mapped", "join_mixtures",
           "read_olmix_pair", "read_pair", "runs_from_wandb", "runs_from_tensorboard", "read_ye_logs", "read_ye_base",
           "read_ye_logs_with_base",
           "is_ye_log", "ye_logs_given"]
