"""Does the optimum found on 1M-parameter proxies transfer to 1B models? (RegMix data, issue 4)

Fit on ``train_1m`` (512 runs), choose a mixture, and score it with a *judge*: Ye's law fitted on all 64
``test_1B`` runs (1B parameters, 25B tokens). Two objectives: the Pile-CC loss, and the mean over the 13
eval domains. Rows:

- ours: ye-exp and additive-ens fitted on train_1m, :func:`mixlaw.optimize.optimize_mixture` under three constraint sets
  (none; each weight within its train_1m range; RegMix's availability caps 15 x natural share, the cap
  their sampler used: ``MAXIMUM_USAGE = 15`` in ``mixture_config/synthesize_mixture.py``);
- RegMix's recipe: a regressor (LightGBM with the notebook's settings, and ye-exp) fitted on train_1m predicts
  100k Dirichlet(natural) mixtures; the mixture is the average of the 100 best (the notebook uses 128);
- the natural mixture (RegMix's token distribution of the 17 Pile domains, ``get_token_distribution`` in
  sail-sg/regmix commit b004d3a, ``mixture_config/synthesize_mixture.py``), RegMix's published Pile-CC
  mixture (``mixture_config/config_1b/regmix.yaml``), and the median and best 1B runs (judge prediction
  and measured loss).

The judge extrapolates for mixtures outside the 1B runs' range; the ``in 1B range`` column says so.

    python bench/optimum_transfer.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from mixlaw.datasets import load_regmix
from mixlaw.errors import ExtrapolationWarning
from mixlaw.laws import YeExponential, get_law
from mixlaw.optimize import optimize_mixture

# RegMix's natural token distribution (sail-sg/regmix b004d3a, mixture_config/synthesize_mixture.py).
NATURAL = {"arxiv": 0.113285273, "freelaw": 0.079608651, "nih_exporter": 0.003913491,
           "pubmed_central": 0.185375901, "wikipedia_en": 0.051081359, "dm_mathematics": 0.015962925,
           "github": 0.101750772, "philpapers": 0.003707518, "stackexchange": 0.066529351,
           "enron_emails": 0.001750772, "gutenberg_pg_19": 0.027085479, "pile_cc": 0.236869207,
           "ubuntu_irc": 0.01184346, "europarl": 0.007929969, "hackernews": 0.008032956,
           "pubmed_abstracts": 0.038825953, "uspto_backgrounds": 0.046446962}
# RegMix's published mixture optimised for Pile-CC (mixture_config/config_1b/regmix.yaml, same commit).
REGMIX_PUBLISHED = {"arxiv": 0.0012046169821426883, "freelaw": 0.001454510048554701,
                    "nih_exporter": 0.001231640306882902, "pubmed_central": 0.003108561825532002,
                    "wikipedia_en": 0.01593264140324679, "dm_mathematics": 0.00031106907908634156,
                    "github": 0.00022861228152440253, "philpapers": 1.329107360676338e-05,
                    "stackexchange": 0.00029547405933203174, "enron_emails": 0.0016691646199353991,
                    "gutenberg_pg_19": 0.001612531300038395, "pile_cc": 0.8701291419934237,
                    "ubuntu_irc": 0.06417728505869834, "europarl": 2.9166170357771267e-06,
                    "hackernews": 0.011925517591888925, "pubmed_abstracts": 0.02424425081714838,
                    "uspto_backgrounds": 0.0024587749419225434}
MAXIMUM_USAGE = 15  # RegMix synthesize_mixture.py: epochs allowed per domain
N_SAMPLES, TOP_K = 100_000, 100
#: Laws fitted on train_1m whose optimum is scored (ye-exp: Ye et al.; additive-ens: mixlaw's best ranker).
PROXY_LAWS = ("ye-exp", "additive-ens")


def _vec(d: dict[str, float], domains: list[str]) -> np.ndarray:
    v = np.array([d[x] for x in domains], dtype=np.float64)
    return v / v.sum()


def _regmix_recipe(predict, prior: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    samples = rng.dirichlet(prior * 1.0, N_SAMPLES)  # RegMix notebook: np.random.dirichlet(prior_dist * 1, 100000)
    score = predict(samples)
    return samples[np.argsort(score)[:TOP_K]].mean(axis=0)


def _lightgbm(train, test1m, cols: list[int]):
    try:
        import lightgbm as lgb
    except ImportError:
        return None
    # The RegMix notebook's settings (regression_fitting/regression.ipynb), early stopping on the 1M test runs.
    params = {"objective": "regression", "metric": ["l1", "l2"], "learning_rate": 1e-2, "seed": 42,
              "verbosity": -1}
    models = []
    for i in cols:
        dtrain = lgb.Dataset(train.weights, train.losses("all")[:, i])
        dvalid = lgb.Dataset(test1m.weights, test1m.losses("all")[:, i], reference=dtrain)
        models.append(lgb.train(params, dtrain, num_boost_round=1000, valid_sets=[dvalid],
                                callbacks=[lgb.early_stopping(stopping_rounds=3, verbose=False)]))
    return lambda X: np.mean([m.predict(X, num_iteration=m.best_iteration) for m in models], axis=0)


def main() -> None:
    t0 = time.perf_counter()
    data = load_regmix()
    train, test1b, test1m = data["train_1m"], data["test_1B"], data["test_1m"]
    domains, evals = train.domains, train.evals
    prior = _vec(NATURAL, domains)
    judge = YeExponential().fit(test1b)  # all 13 evals, 64 runs at 1B
    lo1b, hi1b = test1b.weights.min(axis=0), test1b.weights.max(axis=0)
    y1b = test1b.losses("all")
    k_cc = evals.index("pile_cc")
    proxy_all = YeExponential().fit(train)
    proxy_cc = YeExponential().fit(train, targets="pile_cc")
    proxies = {key: (get_law(key).fit(train, targets="pile_cc"), get_law(key).fit(train)) for key in PROXY_LAWS}
    tokens = dict(zip(domains, prior, strict=True))  # shares as "tokens": cap = 15 x share at target_tokens = 1
    print(f"judge: ye-exp on {len(test1b)} test_1B runs; train RMSE {judge.train_metrics_['RMSE']:.4f}, "
          f"R2 {judge.train_metrics_['R2']:.3f}")
    for obj_name, cols in (("Pile-CC loss", [k_cc]), ("mean of 13 eval losses", list(range(len(evals))))):
        def judge_score(w: np.ndarray, cols=cols) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExtrapolationWarning)
                return float(np.asarray(judge.predict(w[None, :]))[0, cols].mean())

        objective = "pile_cc" if len(cols) == 1 else "mean"
        proxy = proxy_cc if len(cols) == 1 else proxy_all
        rows: list[tuple[str, np.ndarray | None, float | None]] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            for key in PROXY_LAWS:
                law = proxies[key][0 if len(cols) == 1 else 1]
                for label, kw in (("unconstrained", {}),
                                  ("within train_1m range", {"within_fitted_range": True}),
                                  ("caps 15 x natural", {"tokens_available": tokens, "target_tokens": 1.0,
                                                         "max_epochs": MAXIMUM_USAGE})):
                    opt = optimize_mixture(law, objective=objective, natural=prior, **kw)
                    rows.append((f"ours: {key} optimum, {label}", opt.weight_array(), None))
            ye_pred = lambda X, law=proxy: np.asarray(law.predict(X)).reshape(len(X), -1).mean(axis=1)  # noqa: E731
            rows.append(("RegMix recipe with ye-exp (top-100 of 100k)",
                         _regmix_recipe(ye_pred, prior, np.random.default_rng(42)), None))
            lgb_pred = _lightgbm(train, test1m, cols)
            if lgb_pred is not None:
                rows.append(("RegMix recipe with LightGBM (top-100 of 100k)",
                             _regmix_recipe(lgb_pred, prior, np.random.default_rng(42)), None))
        if len(cols) == 1:
            rows.append(("RegMix published Pile-CC mixture (regmix.yaml)", _vec(REGMIX_PUBLISHED, domains), None))
        rows.append(("natural (token shares)", prior, None))
        measured = y1b[:, cols].mean(axis=1)
        order = np.argsort(measured)
        med = order[len(order) // 2 - 1]  # the lower median of 64 runs
        rows.append((f"median 1B run (#{test1b.runs[med]})", test1b.weights[med], float(measured[med])))
        rows.append((f"best 1B run (#{test1b.runs[order[0]]})", test1b.weights[order[0]], float(measured[order[0]])))
        print(f"\nobjective: {obj_name}   (scored by the 1B judge; lower is better)")
        print(f"{'mixture':<48} {'judge':>8} {'measured':>9} {'in 1B range':>11} {'pile_cc w':>9}  top domains")
        nat_score = judge_score(prior)
        for label, w, meas in rows:
            assert w is not None
            s = judge_score(w)
            inside = bool(np.all(w >= lo1b - 1e-9) and np.all(w <= hi1b + 1e-9))
            top = ", ".join(f"{domains[j]} {w[j]:.2f}" for j in np.argsort(-w)[:3])
            m = f"{meas:.4f}" if meas is not None else "-"
            print(f"{label:<48} {s:>8.4f} {m:>9} {('yes' if inside else 'no'):>11} {w[domains.index('pile_cc')]:>9.3f}"
                  f"  {top}")
        print(f"(natural mixture judged {nat_score:.4f}; median 1B run measured {measured[med]:.4f})")
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
