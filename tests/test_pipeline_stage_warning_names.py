"""The nested route's stage warnings name the curve whose parameter ran to a bound, not its index in the fit.

The step and size stages share an exponent across curves (``--shared-exponents yes``, the default), in one fit per
(size, eval) or per eval whose curves' parameters are numbered: on Dai & Zheng's SlimPajama runs, `mixlaw pipeline
--runs dz.csv --fit-up-to 937M --target-params 1.235B --target-tokens 4.608e10` warned "size stage: 4 warning(s) in
its fits: E4 at lower bound 0 (x2); E1 at lower bound 0; E2 at lower bound 0": no eval, and a number that is the
curve's place in that fit, which no printed label shows (read as the fourth mixture, it names another).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mixlaw.data import RunTable
from mixlaw.pipeline import fit_pipeline


def _table() -> RunTable:
    """6 mixtures x 4 sizes x 5 steps, two evals; two curves steeper than the shared exponent: eval y of mixture
    m2 falls as N^-1.5 with no floor (its size law's E runs to 0), and eval x of m4 at 2e7 as S^-1.2 (its step
    law's E runs to 0)."""
    rows = []
    for m, w in enumerate(np.random.default_rng(0).dirichlet(np.ones(3), size=6)):
        for N in [1e7, 2e7, 4e7, 8e7]:
            for S in [250, 500, 1000, 2000, 3000]:
                size = 2.0 + 0.3 * w @ [1, 2, 3] + 300 / N ** 0.3
                y = np.array([size, size * 0.9]) + 20 / S ** 0.5
                if m == 2:
                    y[1] = 5 * (N / 1e7) ** -1.5 * (1 + 20 / S ** 0.5)
                if m == 4 and N == 2e7:
                    y[0] = 400 / S ** 1.2
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate("abc")},
                             **{f"loss:{d}": y[j] for j, d in enumerate("xy")}})
    return RunTable(pd.DataFrame(rows))


def test_shared_exponent_fits_name_the_curve_at_a_bound() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(_table(), target_params=1e8, target_steps=3000, route="nested", law="linear")
    lines = {w.split(" stage:")[0]: w for w in res.warnings if " stage:" in w}
    # Before: 'step stage: 1 warning(s) in its fits: E5 at lower bound 0' and 'size stage: ... E1 at lower bound 0'.
    assert lines["step"] == "step stage: 1 warning(s) in its fits: m4-N2e+07 N=2e+07 x: E at lower bound 0"
    assert lines["size"] == "size stage: 1 warning(s) in its fits: m2-N1e+07 y: E at lower bound 0"


def test_direct_joint_stage_names_the_eval_at_a_bound() -> None:
    # One joint law per eval; Dai & Zheng's 8 mixtures at 122M-937M, direct: "joint stage: 2 warning(s) in its fits:
    # E at lower bound 0; t_stackexchange at lower bound -30", of which eval neither said.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(_table(), target_params=1e8, target_steps=3000, route="direct", law="ye-exp")
    (line,) = [w for w in res.warnings if w.startswith("joint stage:")]
    assert line == ("joint stage: 3 warning(s) in its fits: x: log_B at lower bound -50; x: beta at lower bound "
                    "0.001; y: E at lower bound 0")


def test_own_exponent_fits_name_the_curve_at_a_bound() -> None:
    # --shared-exponents no: every curve its own step and size law. Ye et al.'s 5Mix fitted on 70M-410M said "step
    # stage: 29 warning(s) in its fits: E at lower bound 0 (x26); beta at upper bound 4 (x3)" and "size stage: 139
    # warning(s) ...: E at lower bound 0 (x113); alpha at upper bound 4 (x26)", naming no curve.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(_table(), target_params=1e8, target_steps=3000, route="nested", law="linear",
                           shared_exponents=False)
    lines = {w.split(" stage:")[0]: w for w in res.warnings if " stage:" in w}
    # Before: 'step stage: 1 warning(s) in its fits: E at lower bound 0' and 'size stage: 2 warning(s) in its fits:
    # E at lower bound 0; alpha at upper bound 4'.
    assert lines["step"] == "step stage: 1 warning(s) in its fits: m4-N2e+07 N=2e+07 x: E at lower bound 0"
    assert lines["size"] == ("size stage: 2 warning(s) in its fits: m2-N1e+07 y: E at lower bound 0; m4-N1e+07 x: "
                             "alpha at upper bound 4")


def test_a_long_line_of_named_curves_still_counts_each_kind() -> None:
    # Each curve named, every message is distinct: Ye et al.'s 5Mix (--shared-exponents no) said "size stage: 139
    # warning(s) in its fits: <3 curves>; and 136 other distinct message(s)", where it had said 'E at lower bound 0
    # (x113); alpha at upper bound 4 (x26)'. Its kinds are counted again; a line that shows every message is as it was.
    from mixlaw.pipeline.result import stage_warning_line

    msgs = ([f"70M_{i}-0.25-0 N=7e+07 arc:rc::olmes: E at lower bound 0" for i in range(113)]
            + [f"70M_{i}-0.5-0 FreeLaw: alpha at upper bound 4" for i in range(26)])
    line = stage_warning_line("size", msgs)
    assert line is not None and line.startswith("size stage: 139 warning(s) in its fits: 70M_0-0.25-0 N=7e+07 ")
    assert line.endswith("; and 136 other distinct message(s); by kind: E at lower bound 0 (x113), alpha at upper "
                         "bound 4 (x26)")
    assert stage_warning_line("size", msgs[:2] + msgs[-1:]) == "size stage: 3 warning(s) in its fits: " + "; ".join(
        msgs[:2] + msgs[-1:])
