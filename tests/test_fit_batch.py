"""All evals in one solve, warm-started refits, batched step/size stages: same answers as one fit at a time."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw import metrics
from mixlaw._solver import FactoredSegmentJacobian, SegmentJacobian
from mixlaw.bootstrap import bootstrap_law
from mixlaw.datasets import load_regmix
from mixlaw.errors import ConvergenceWarning, ExtrapolationWarning, InputError
from mixlaw.fit import Param, Params, fit_model, fit_models
from mixlaw.laws import get_law
from mixlaw.laws.base import warm_clone
from mixlaw.scaling import fit_curves, fit_shared_exponent, fit_shared_exponents

#: Mean Spearman rho over the 13 RegMix evals on each bundled held-out split, fitted on train_1m with default
#: settings, recorded with the per-eval L-BFGS-B engine before the batched solver replaced it (commit b021738).
#: ye-exp is not here: commit 916ff20 changed the law itself (wider t bounds) after the recording (0.9467 /
#: 0.9416 / 0.9051 before with either engine). ye-implicit is not here: 4 of its 13 L-BFGS-B fits ended with
#: "no start converged", so its old rho was that of unfinished fits
#: (0.9529 / 0.9488 / 0.9134 then, 0.9520 / 0.9480 / 0.9102 converged now).
RHO_BEFORE = {
    "additive": (0.9916060707431728, 0.9884658850819584, 0.9513313609467454),
    "additive-ens": (0.990393968871595, 0.9875505088296916, 0.9544660467737388),
    "dz-eq1": (0.8931531846715411, 0.886984348727924, 0.9384008879903684),
}
SPLITS = ("test_1m", "test_60m", "test_1B")
#: The same for dz-eq3 (plain Eq. 3 scores +inf at h_i = 0 as the worst rank) fitted on the first 256 runs of
#: train_1m, recorded with a dense Jacobian: the model's SegmentJacobian expanded by ``to_dense()`` (per problem,
#: monkeypatched into the law's model) so that the solver took its dense products (1273 evaluations; the segment
#: products' fit: 1257, and the same means within 4e-7). The fit stops without converging ("no start converged"),
#: so this pins the iterates, not just the optimum. Issue #11 changed dz-eq3's defaults (soft capacity floor,
#: partial pooling: it converges now); the recording is of the hard floor without pooling, which the test therefore
#: asks for explicitly. It was recorded on all 512 runs before, with commit 01cc9b6's own dense DZ Jacobian, as
#: (0.892064910408293, 0.8868616253384574, 0.9382896265502618), which the segment products still give within 5e-4;
#: that fit ran 5-6 times as long (17 s against 2.4 s).
RHO_DENSE_JACOBIAN = {"dz-eq3": (0.8923069608073736, 0.8872249382248371, 0.9379754566536079)}


@pytest.fixture(scope="module")
def regmix():
    return {s: load_regmix(s) for s in ("train_1m",) + SPLITS}


def _mean_rho(law, regmix) -> tuple[float, ...]:
    names = regmix["train_1m"].evals
    out = []
    for s in SPLITS:
        y, p = regmix[s].losses(names), np.asarray(law.predict(regmix[s]))
        out.append(float(np.mean([metrics.spearman(y[:, k], p[:, k]) for k in range(len(names))])))
    return tuple(out)


@pytest.mark.parametrize("key", sorted(RHO_BEFORE))
def test_predictions_unchanged_on_bundled_splits(key, regmix) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        law = get_law(key).fit(regmix["train_1m"], targets="all")
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    np.testing.assert_allclose(_mean_rho(law, regmix), RHO_BEFORE[key], atol=5e-4)


def test_segment_jacobian_dz_predictions_unchanged(regmix) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        law = get_law("dz-eq3", floor_smoothness=None, pooling=0.0).fit(regmix["train_1m"].take(np.arange(256)),
                                                                        targets="all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # +inf at h_i = 0, said once per split
        np.testing.assert_allclose(_mean_rho(law, regmix), RHO_DENSE_JACOBIAN["dz-eq3"], atol=5e-4)


def test_segment_jacobian_products_equal_the_dense_ones() -> None:
    rng = np.random.default_rng(0)
    r, n, d, p = 2, 40, 5, 14
    # 3 segments (one empty), 3 own columns each; columns 5..13 own, 0..4 shared.
    starts = np.array([0, 15, 15])
    cols = np.array([[5, 6, 7], [8, 9, 10], [11, 12, 13]])
    J = SegmentJacobian(rng.normal(size=(r, n, d)), rng.normal(size=(r, n, 3)), np.arange(d), cols, starts, p)
    dense = J.to_dense()
    assert dense.shape == (r, n, p)
    assert np.count_nonzero(dense[:, :15, 8:]) == 0 and np.count_nonzero(dense[:, 15:, 5:8]) == 0
    w, v = rng.uniform(size=(r, n)), rng.normal(size=(r, n))
    np.testing.assert_allclose(J.gram(w), np.einsum("rnp,rn,rnq->rpq", dense, w, dense), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.rmatvec(v), np.einsum("rnp,rn->rp", dense, v), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.sqsum(w), np.einsum("rnp,rn->rp", dense ** 2, w), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.scale_rows(v).to_dense(), dense * v[:, :, None])
    assert J.finite().all() and SegmentJacobian.stack([J, J]).to_dense().shape == (2 * r, n, p)


def test_factored_segment_jacobian_products_equal_the_dense_ones() -> None:
    # Run factors (speed25): shared columns coef * base, and segment columns that meet the shared ones (a DZ eval
    # set's own log c and b) and repeat across segments (two eval sets mapped to one domain): the entries add up.
    rng = np.random.default_rng(2)
    r, S, L, d = 2, 3, 11, 4
    cols = np.array([[4, 5, 0], [6, 7, 2], [8, 9, 0]])  # shared columns 0 and 2 inside; 0 in two segments
    J = FactoredSegmentJacobian(rng.normal(size=(r, L, d)), rng.normal(size=(r, S, L)),
                                rng.normal(size=(r, S, L, 3)), np.arange(d), cols, 10)
    dense = J.to_dense()
    assert dense.shape == J.shape == (r, S * L, 10)
    ref = J.coef[:, :, :, None] * J.base[:, None]  # entry by entry, from the definition
    np.testing.assert_allclose(dense[:, L:2 * L, [1, 3]], ref[:, 1][:, :, [1, 3]], rtol=1e-15)
    np.testing.assert_allclose(dense[:, 2 * L:, 0], ref[:, 2][:, :, 0] + J.fvals[:, 2, :, 2], rtol=1e-15)
    w, v = rng.uniform(size=(r, S * L)), rng.normal(size=(r, S * L))
    np.testing.assert_allclose(J.gram(w), np.einsum("rnp,rn,rnq->rpq", dense, w, dense), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.rmatvec(v), np.einsum("rnp,rn->rp", dense, v), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.sqsum(w), np.einsum("rnp,rn->rp", dense ** 2, w), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.scale_rows(v).to_dense(), dense * v[:, :, None], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(J.take(np.array([1])).to_dense(), dense[1:])
    bad = J.take(np.array([0, 1]))
    bad.coef = bad.coef.copy()
    bad.coef[1, 0, 0] = np.nan
    assert J.finite().all() and bad.finite().tolist() == [True, False]
    assert SegmentJacobian.stack([J, J]).to_dense().shape == (2 * r, S * L, 10)


def test_even_segment_gram_is_bit_identical_to_the_segment_loop() -> None:
    # Segments of one length with disjoint columns (every (run, eval set) of a DZ fit) take one stacked product
    # (speed25): the same BLAS calls per segment, so the same bits, -0.0 included.
    rng = np.random.default_rng(1)
    r, S, L, d, G = 3, 4, 25, 6, 3
    cols = d + np.arange(S * G).reshape(S, G)
    vals = rng.normal(size=(r, S * L, G))
    vals[:, :L] = -0.0  # a segment whose own derivatives are all -0.0
    J = SegmentJacobian(rng.normal(size=(r, S * L, d)), vals, np.arange(d), cols, np.arange(S) * L, d + S * G)
    w = rng.uniform(size=(r, S * L))
    assert J._even
    even = J.gram(w)
    J._even = False
    loop = J.gram(w)
    np.testing.assert_array_equal(even, loop)
    assert np.array_equal(np.signbit(even), np.signbit(loop))
    # Unequal segments or shared columns keep the loop.
    assert not SegmentJacobian(J.dense, J.vals, J.dense_cols, cols, np.array([0, 20, 50, 75]), J.p)._even
    assert not SegmentJacobian(J.dense, J.vals, J.dense_cols, np.vstack([cols[:3], cols[:1]]), J.starts, J.p)._even


def test_warm_started_ensemble_refits_each_member_with_one_start(regmix) -> None:
    table = regmix["train_1m"]
    full = get_law("additive-ens").fit(table, targets=["pile_cc"])
    refit = warm_clone(full).fit(table, targets=["pile_cc"])
    assert all(r.n_starts == 2 for r in full.results_.values())
    assert all(r.n_starts == 1 and r.n_converged == 1 for r in refit.results_.values())
    np.testing.assert_allclose(refit.predict(regmix["test_1m"]), full.predict(regmix["test_1m"]), rtol=1e-6)


def _ye_problem(seed: int):
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=40)
    y = (2.0 + 0.5 * seed) + np.exp(W @ np.array([0.0, -1.0, 0.6 + 0.2 * seed]))
    y = y * np.exp(0.002 * rng.standard_normal(40))

    def model(theta):
        e = np.exp(theta[1] + W @ theta[2:])
        return theta[0] + e, np.column_stack([np.ones(40), e, e[:, None] * W])

    spec = Params([Param("c", 1.0, 1.0, 0.0, 10.0), Param("log_k", 0.0, 0.0, -10, 10),
                   Param("t0", 0.0, 0.0, -5, 5, vary=False), Param("t1", 0.0, 0.0, -5, 5),
                   Param("t2", 0.0, 0.0, -5, 5)])
    return model, spec, y


def test_one_batched_solve_equals_one_fit_per_problem() -> None:
    probs = [_ye_problem(s) for s in range(4)]
    batched = fit_models([m for m, _, _ in probs], [s for _, s, _ in probs], [y for _, _, y in probs],
                         n_starts=3, rng=np.random.default_rng(1))
    rng = np.random.default_rng(1)  # starts are drawn problem by problem, in order: the same starts
    for (m, s, y), b in zip(probs, batched, strict=True):
        one = fit_model(m, s, y, n_starts=3, rng=rng)
        np.testing.assert_allclose(b.params.array(), one.params.array(), rtol=1e-9, atol=1e-12)
        assert b.n_converged == one.n_converged == 3 and b.start_objectives == pytest.approx(one.start_objectives)
    np.testing.assert_allclose(batched[1].params.array()[[1, 3, 4]], [np.log(1.0), -1.0, 0.8], atol=0.05)


def test_warm_started_refit_uses_one_start_and_lands_on_the_same_optimum(regmix) -> None:
    table = regmix["train_1m"]
    full = get_law("additive").fit(table, targets=["pile_cc", "arxiv"])
    refit = warm_clone(full).fit(table, targets=["pile_cc", "arxiv"])
    assert all(r.n_starts == 1 and r.n_converged == 1 for r in refit.results_.values())
    assert all(r.n_starts == 2 for r in full.results_.values())
    np.testing.assert_allclose(refit.predict(regmix["test_1m"]), full.predict(regmix["test_1m"]), rtol=1e-6)


def test_bootstrap_identical_for_one_or_two_workers(regmix) -> None:
    kw = {"n": 8, "random_state": 3, "points": regmix["test_1m"].weights[:5]}
    a = bootstrap_law("additive", regmix["train_1m"], ["pile_cc", "arxiv"], n_jobs=1, **kw)
    b = bootstrap_law("additive", regmix["train_1m"], ["pile_cc", "arxiv"], n_jobs=2, **kw)
    assert a.n_jobs == 1 and b.n_jobs == 2 and a.n_failed == b.n_failed == 0
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.predictions, b.predictions)


def _curves(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n):
        S = np.geomspace(100, 10000, int(rng.integers(4, 12)))
        y = 2 + rng.uniform(0, 1) + rng.uniform(5, 50) * S ** -rng.uniform(0.2, 0.8)
        xs.append(S)
        ys.append(y * np.exp(0.003 * rng.standard_normal(S.size)))
    return xs, ys


def test_batched_curves_fit_as_well_as_one_engine_fit_per_curve() -> None:
    xs, ys = _curves(30)
    batched = fit_curves(xs, ys)
    for x, y, b in zip(xs, ys, batched, strict=True):
        lx = np.log(x)

        def model(th, lx=lx):
            t = np.exp(th[1] - th[2] * lx)
            return th[0] + t, np.column_stack([np.ones_like(t), t, -t * lx])

        spec = Params([Param("E", 0.9 * y.min(), 0.9 * y.min(), 0.0, y.max()), Param("log_B", 2.0, 2.0, -50, 120),
                       Param("beta", 0.5, 0.5, 1e-3, 4.0)])
        one = fit_model(model, spec, y, n_starts=8)
        assert b.objective <= one.objective * (1 + 1e-6) + 1e-9
        assert b.n_obs == x.size and b.residuals.shape == (x.size,)
        assert b.n_converged >= 1


def test_shared_exponents_batched_equal_one_at_a_time() -> None:
    N = np.array([2e6, 4e6, 8e6])
    probs = [([N] * 4, [1.5 + 0.1 * g + (100.0 + 20 * g + 5 * k) / N ** (0.3 + 0.05 * k) for g in range(4)])
             for k in range(3)]
    batched = fit_shared_exponents(probs)
    for k, (xs, ys) in enumerate(probs):
        E, logA, a, _ = fit_shared_exponent(xs, ys)
        np.testing.assert_allclose(batched[k][2], a, rtol=1e-8)
        np.testing.assert_allclose(batched[k][0], E, rtol=1e-8)
        np.testing.assert_allclose(a, 0.3 + 0.05 * k, rtol=1e-4)


def test_batched_curves_name_the_curve_with_too_few_distinct_steps() -> None:
    # Curves of different lengths are padded into one array; the padding must not count as a distinct step, and
    # repeated steps count once.
    xs, ys = _curves(3)
    xs[1] = np.array([100.0, 200.0, 400.0, 400.0, 400.0, 400.0])
    ys[1] = np.array([5.0, 4.0, 3.5, 3.5, 3.4, 3.6])
    with pytest.raises(InputError, match=r"^b: .* got 3 distinct x value\(s\), need at least 4"):
        fit_curves(xs, ys, labels=["a", "b", "c"])
    xs[1] = np.array([100.0, 200.0, 400.0, 800.0])
    ys[1] = np.array([5.0, 4.0, 3.5, 3.3])
    assert [f.n_obs for f in fit_curves(xs, ys)] == [x.size for x in xs]


def test_screened_starts_reach_the_same_optimum() -> None:
    # fit_models(screen_iter=k): every start runs k iterations, then only each problem's best goes on. On a
    # saturating exponential with a known optimum it ends where running every start to the end does, with the
    # same start count, and converged.
    rng = np.random.default_rng(3)
    x = np.linspace(0.0, 1.0, 40)
    ys = [2.0 + 1.5 * np.exp(-k * x) * np.exp(rng.normal(0, 0.002, x.size)) for k in (3.0, 5.0)]

    def model(th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = np.exp(-th[2] * x)
        return th[0] + th[1] * e, np.column_stack([np.ones_like(x), e, -th[1] * x * e])

    spec = Params([Param("c", 1.0, 1.0, 0.0, 10.0), Param("a", 1.0, 1.0, 0.0, 10.0), Param("k", 1.0, 1.0, 0.0, 20.0)])
    kw = {"n_starts": 6, "rng": None, "labels": ["p0", "p1"]}
    full = fit_models([model, model], [spec, spec], ys, **kw)
    screened = fit_models([model, model], [spec, spec], ys, screen_iter=3, **kw)
    for a, b, k in zip(full, screened, (3.0, 5.0), strict=True):
        assert b.n_starts == 6 and b.n_converged >= 1
        np.testing.assert_allclose(b.params.array("value"), a.params.array("value"), rtol=1e-6)
        assert abs(b.params["k"].value - k) < 0.05
