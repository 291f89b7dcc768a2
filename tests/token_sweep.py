"""A small two-domain sweep at two token counts, for the tests of laws fitted across scales (tests/ is on
sys.path: it has no __init__.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def token_sweep(seed: int) -> pd.DataFrame:
    """40 runs of web/code, 20 at 1e8 and 20 at 4e8 tokens, each loss a power of the domain's tokens
    (``L_web = 2 + (r_web D / 1e8 + 0.01)^-0.3``, ``L_code = 2.5 + (r_code D / 1e8 + 0.01)^-0.2``): what bimix,
    which takes the tokens as an input, fits exactly."""
    W = np.random.default_rng(seed).dirichlet(np.ones(2), 40)
    D = np.repeat([1e8, 4e8], 20)
    return pd.DataFrame({"run": [f"r{i}" for i in range(40)], "w:web": W[:, 0], "w:code": W[:, 1], "tokens": D,
                         "loss:web": 2 + (W[:, 0] * D / 1e8 + 0.01) ** -0.3,
                         "loss:code": 2.5 + (W[:, 1] * D / 1e8 + 0.01) ** -0.2})
