"""Text tables never print one label for two names (found on Olmix's DCLM swarm and the bundled Marin set)."""
from __future__ import annotations

import numpy as np
import pytest

from mixlaw._console import short_labels


def test_short_labels_distinct_and_bounded():
    names = ["dolma3_cc/art_and_design_high", "dolma3_cc/art_and_design_low", "web",
             "aaaaaaaaaaaaaaaaaaaaXbbbbbbbbbb", "aaaaaaaaaaaaaaaaaaaaYbbbbbbbbbb"]
    for width in (3, 8, 10, 13, 20):
        out = short_labels(names, width)
        assert len(set(out)) == len(names) and all(len(s) <= width for s in out)
    assert short_labels(["web", "code"], 10) == ["web", "code"]
    with pytest.raises(ValueError):
        short_labels(["a"], 2)


def test_ye_report_keeps_evals_with_a_shared_prefix_apart():
    """Olmix's evals 'mt_mbpp_v2fix:bash' and 'mt_mbpp_v2fix:c' both printed as 'mt_mbpp_v2fix' in the
    interaction matrix of `mixlaw fit`."""
    from mixlaw.laws import YeExponential

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 30)
    Y = np.column_stack([2 + np.exp(-W[:, 0]), 2 + np.exp(-W[:, 1])])
    evals = ["mt_mbpp_v2fix:bash", "mt_mbpp_v2fix:c"]
    law = YeExponential(n_restarts=2, random_state=0).fit(W, Y, domains=["code_python_long", "code_python_short",
                                                                         "web"], targets=evals)
    (_, matrix), = [s for s in law.extra_report_sections() if s[0].startswith("Interactions")]
    head, *rows = matrix.splitlines()
    labels = [r.split()[0] for r in rows]
    assert len(set(labels)) == 2 and len(set(head.split())) == 3


def test_optimum_table_keeps_domains_with_a_shared_prefix_apart():
    """Marin's 'dolma3_cc/art_and_design_high' and '..._low' both printed as 'dolma3_cc/art_and_de'."""
    from mixlaw.optimize.result import OptimumResult

    doms = ["dolma3_cc/art_and_design_high", "dolma3_cc/art_and_design_low",
            "dolma3_cc/science_math_and_technology_high"]
    w = dict(zip(doms, (0.5, 0.3, 0.2), strict=True))
    losses = {"mt_mbpp_v2fix:bash": 1.0, "mt_mbpp_v2fix:c": 1.1}
    res = OptimumResult(weights=w, objective=1.05, losses=losses, objective_name="mean", active=[],
                         lower=dict.fromkeys(doms, 0.0), upper=dict.fromkeys(doms, 1.0), natural_weights=w,
                         natural_objective=1.05, natural_losses=losses, natural_source="uniform",
                         natural_feasible=True, convex=True, method="SLSQP", n_starts=1, n_converged=1)
    text = str(res)
    weights = text[text.index("[[Weights]]"):text.index("[[Predicted losses]]")].splitlines()[2:]
    losses_rows = text[text.index("[[Predicted losses]]"):].splitlines()[2:4]
    assert len({r.split()[0] for r in weights}) == 3 and len({r.split()[0] for r in losses_rows}) == 2
    assert doms[0] in text and doms[1] in text  # up to 40 characters in full


def test_names_that_share_a_namespace_keep_their_ends():
    # Olmix's domains in a fit report's 10-cell interaction columns: 's2pdfv1:crime_law' and 's2pdfv1:games' read
    # 's2pdfv1:c…' and 's2pdfv1:g…' (the head is all namespace) beside 's2pd…adult' for the names that clashed.
    doms = ["s2pdfv1:adult", "s2pdfv1:crime_law", "s2pdfv1:games", "s2pdfv1:art_design", "existing"]
    assert short_labels(doms, 10) == ["s2pd…adult", "s2pd…e_law", "s2pd…games", "s2pd…esign", "existing"]
    # a colon that is no shared namespace (OLMES's suffixes) keeps the head
    assert short_labels(["hellaswag:rc::olmes", "mmlu_college_biology:rc::olmes"], 13) == ["hellaswag:rc…",
                                                                                          "mmlu_college…"]


def test_interaction_matrix_rows_are_named_in_full_and_indexed_labels_explained():
    # hunt31: 'mixlaw fit --runs dclm.parquet --law ye-exp --target all' (Olmix's 110 evals) printed the t_ij rows
    # 'basic_…:olm~2' ... 'basic_…:olm~8' and 'mmlu_h…:ol~46' ... 'mmlu_h…:ol~59' at 13 cells, and on
    # full_recomputation's 64 domains the columns 'stac…cr~53' and 'stac…cr~62': a reader could not tell which
    # eval or domain a row or column was. Rows are now as wide as their names (up to 40 cells), and a label that
    # keeps a '~k' index is named in full below the matrix.
    from mixlaw._console import matrix_text

    evals = ["basic_skills:rc::olmes", "basic_skills_arithmetic:rc::olmes", "basic_skills_coding:rc::olmes"]
    doms = ["stack-edu:Java", "stack-edu:JavaScript", "stack-edu:TypeScript", "wikipedia"]
    text = matrix_text(np.zeros((3, 4)), evals, doms)
    head, *rows, legend = text.splitlines()
    assert [r.split()[0] for r in rows] == evals
    tagged = [lab for lab in short_labels(doms, 10) if "~" in lab]
    assert tagged and all(f"{lab} = {doms[int(lab.split('~')[1])]!r}" in legend for lab in tagged)
    assert matrix_text(np.zeros((1, 2)), ["a"], ["web", "code"]).count("\n") == 1  # nothing to explain
