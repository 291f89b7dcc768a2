"""A pandas DataFrame in the run table's columns is read by name by ``fit`` and ``predict``.

``get_law("linear").fit(pd.read_csv("122m_train.csv"), targets="c4")`` (Dai & Zheng's table: run, params, tokens,
w:<domain>, loss:<eval>) raised numpy's "could not convert string to float: 'm1_122M'", and so did ``predict`` of
the held-out frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw import get_law
from mixlaw.data import RunTable
from mixlaw.errors import DataError, InputError


def _frame(n: int, seed: int) -> pd.DataFrame:
    W = np.random.default_rng(seed).dirichlet(np.ones(3), n)
    return pd.DataFrame({"run": [f"m{i}_122M" for i in range(n)], "params": 1.22e8, "w:web": W[:, 0],
                         "w:code": W[:, 1], "w:wiki": W[:, 2], "loss:x": 3 - W[:, 0] + 0.5 * W[:, 1],
                         "loss:y": 2 + W[:, 2]})


def test_fit_and_predict_read_a_frame_by_column_name():
    train, test = _frame(30, 0), _frame(8, 1)
    law = get_law("linear").fit(train, targets="x")
    ref = get_law("linear").fit(RunTable(train), targets="x")
    assert law.domains_ == ["web", "code", "wiki"] and law.targets_ == ["x"]
    np.testing.assert_allclose(law.predict(test), ref.predict(RunTable(test)))
    shuffled = test[["w:wiki", "w:web", "w:code"]]  # mixtures alone, columns in another order: read by name
    np.testing.assert_allclose(law.predict(shuffled), ref.predict(RunTable(test)))
    weights_only = get_law("linear").fit(train[["w:web", "w:code", "w:wiki"]], train["loss:y"].to_numpy())
    assert weights_only.domains_ == ["web", "code", "wiki"]
    np.testing.assert_allclose(weights_only.predict(test), get_law("linear").fit(RunTable(train), targets="y")
                               .predict(RunTable(test)))


def test_plain_numeric_frames_still_work_as_arrays():
    from sklearn.model_selection import cross_val_score

    f = _frame(30, 0)
    X = pd.DataFrame(f[["w:web", "w:code", "w:wiki"]].to_numpy(), columns=["a", "b", "c"])
    scores = cross_val_score(get_law("linear"), X, f["loss:x"], cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.9)


def _sized_runs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """48 runs of 3 domains at 3 model sizes: (W, N, y), y a size law plus a mixture term."""
    rng = np.random.default_rng(2)
    W = rng.dirichlet(np.ones(3), 48)
    N = np.repeat([3e7, 1e8, 3e8], 16)
    return W, N, 2.0 + 50 * (N / 1e6) ** -0.5 + 0.3 * W[:, 0] * (1 + 0.01 * rng.standard_normal(48))


def test_a_frame_of_weights_and_model_sizes_with_separate_losses_keeps_the_sizes():
    # fit(df[w_cols + ["params"]], y) took the w: columns and dropped params without a word: dz-eq1 (model size
    # optional) was fitted as at one scale (n_range None) and predicted other losses than with model_params=.
    W, N, y = _sized_runs()
    frame = pd.DataFrame({"w:web": W[:, 0], "w:code": W[:, 1], "w:wiki": W[:, 2], "params": N})
    law = get_law("dz-eq1").fit(frame, y)
    ref = get_law("dz-eq1").fit(W, y, model_params=N, domains=["web", "code", "wiki"])
    assert law._n_range == ref._n_range
    np.testing.assert_allclose(law.predict(frame), ref.predict(W, model_params=N))


def test_a_frame_of_mixtures_in_plain_named_columns_names_the_domains_and_is_read_by_name():
    # fit(pd.DataFrame(W, columns=[...]), y) named the domains d0..d3, and predict of the same frame with its columns
    # in another order gave the losses of other mixtures without a word (2.29 for 3.22), where scikit-learn's
    # estimators match feature_names_in_.
    rng = np.random.default_rng(3)
    W = rng.dirichlet(np.ones(4), 40)
    y = 1.8 + 1.2 * np.exp(W @ [-1.5, -0.5, 0.3, 0.0])
    names = ["web", "code", "books", "wiki"]
    X = pd.DataFrame(W, columns=names)
    law = get_law("ye-exp", n_restarts=2).fit(X, y)
    assert law.domains_ == names
    np.testing.assert_allclose(law.predict(X[names[::-1]]), law.predict(W), rtol=1e-12)
    with pytest.raises(InputError, match=r"not the law's domains .*missing: \['wiki'\]; not a domain: \['news'\]"):
        law.predict(X.rename(columns={"wiki": "news"}))
    # A law fitted on a table predicts a frame named by domain in any order; unnamed frames stay positional.
    table_law = get_law("linear").fit(RunTable(_frame(30, 0)), targets="x")
    f = _frame(5, 1)
    plain = f[["w:wiki", "w:web", "w:code"]].set_axis(["wiki", "web", "code"], axis=1)
    np.testing.assert_allclose(table_law.predict(plain), table_law.predict(RunTable(f)))
    np.testing.assert_allclose(law.predict(pd.DataFrame(W)), law.predict(W), rtol=1e-12)
    unnamed = get_law("linear").fit(W, y)
    np.testing.assert_allclose(unnamed.predict(X[names[::-1]]), unnamed.predict(W[:, ::-1]), rtol=1e-12)


def test_losses_as_a_named_series_or_frame_name_the_eval_sets():
    # fit(df[w_cols], df["loss:web"]) named the eval y0: bimix, which fits an eval set named after a training domain
    # by that domain's own term, fitted it by implicit aggregation instead, another model than the table's.
    f = _frame(30, 0).rename(columns={"loss:x": "loss:web", "loss:y": "loss:wiki"})
    wcols = ["w:web", "w:code", "w:wiki"]
    ref = get_law("bimix").fit(RunTable(f), targets=["web", "wiki"])
    law = get_law("bimix").fit(f[wcols], f[["loss:web", "loss:wiki"]])
    assert law.targets_ == ["web", "wiki"] and law.domains_ == ["web", "code", "wiki"]
    np.testing.assert_allclose(law.predict(f), ref.predict(RunTable(f)), rtol=1e-10)
    one = get_law("linear").fit(f[wcols].to_numpy(), f["loss:web"])
    assert one.targets_ == ["web"] and one.predict(f[wcols].to_numpy()).shape == (30,)
    assert get_law("linear").fit(f[wcols], f["loss:web"].to_numpy()).targets_ == ["y0"]


def test_score_reads_a_frame_of_losses_by_name():
    # score took a frame's loss columns by position: df[["loss:y", "loss:x"]] scored y's losses against x's
    # predictions (R^2 -2.16 for 1.0).
    f = _frame(30, 0)
    law = get_law("linear").fit(f[["w:web", "w:code", "w:wiki"]], f[["loss:x", "loss:y"]])
    assert law.targets_ == ["x", "y"]
    ref = law.score(f, f[["loss:x", "loss:y"]].to_numpy())
    assert ref > 0.99
    assert law.score(f, f[["loss:y", "loss:x"]]) == ref
    assert law.score(f, f[["loss:y", "loss:x"]].set_axis(["y", "x"], axis=1)) == ref


def test_predict_reads_the_fitted_frame_when_domains_renamed_its_columns():
    # fit(frame, y, domains=[...]) names the domains otherwise than the frame's columns: predict of that same frame
    # was refused ("the frame's columns [...] are not the law's domains"), where it had predicted by position.
    f = _frame(30, 0)
    X = pd.DataFrame(f[["w:web", "w:code", "w:wiki"]].to_numpy(), columns=["share_a", "share_b", "share_c"])
    law = get_law("linear").fit(X, f["loss:x"].to_numpy(), domains=["web", "code", "wiki"])
    assert law.domains_ == ["web", "code", "wiki"]
    np.testing.assert_allclose(law.predict(X), law.predict(X.to_numpy()))
    np.testing.assert_allclose(law.predict(X.rename(columns=dict(zip(X.columns, law.domains_, strict=True)))),
                               law.predict(X.to_numpy()))
    with pytest.raises(InputError, match="not the law's domains"):  # other names are still refused
        law.predict(X.rename(columns={"share_a": "other"}))


def test_one_mixture_as_a_mapping_is_read_by_domain_name():
    # law.predict(optimize_mixture(law).weights) raised numpy's "float() argument must be ... not 'dict'".
    from mixlaw import optimize_mixture

    law = get_law("linear").fit(RunTable(_frame(30, 0)), targets="x")
    opt = optimize_mixture(law, bounds={"web": (0.2, 0.6)})
    np.testing.assert_allclose(law.predict(opt.weights), [opt.losses["x"]], rtol=1e-12)
    np.testing.assert_array_equal(law.predict({"wiki": 0.5, "web": 0.5}), law.predict([[0.5, 0.0, 0.5]]))
    with pytest.raises(InputError, match=r"domain\(s\) \['news'\] that are not among the law's domains"):
        law.predict({"news": 1.0})
    # The run table's w: prefix, as a frame's columns may carry it (found by review: refused as unknown domains).
    np.testing.assert_array_equal(law.predict({"w:wiki": 0.5, "w:web": 0.5}), law.predict([[0.5, 0.0, 0.5]]))
    with pytest.raises(InputError, match=r"names a domain twice, with and without 'w:'"):
        law.predict({"w:web": 0.5, "web": 0.5})


def test_a_frame_of_plain_named_shares_reads_params_and_tokens_as_the_scale():
    # fit(df[["web", "code", "wiki", "params"]], y) fitted 'params' as a fourth domain with shares of 3e7-3e8:
    # dz-eq1's R^2 on its own runs was -0.07, without a word.
    W, N, y = _sized_runs()
    frame = pd.DataFrame({"web": W[:, 0], "code": W[:, 1], "wiki": W[:, 2], "params": N})
    law = get_law("dz-eq1").fit(frame, y)
    ref = get_law("dz-eq1").fit(W, y, model_params=N, domains=["web", "code", "wiki"])
    assert law.domains_ == ["web", "code", "wiki"] and law._n_range == ref._n_range
    np.testing.assert_allclose(law.predict(frame), ref.predict(W, model_params=N))
    np.testing.assert_allclose(law.predict(frame[["wiki", "params", "web", "code"]]), ref.predict(W, model_params=N))
    with pytest.raises(InputError, match=r"column\(s\) \['step'\]: name its weight columns 'w:<domain>'"):
        get_law("linear").fit(frame.assign(step=100), y)


def test_several_mixtures_as_a_list_of_mappings_are_read_by_domain_name():
    # law.predict([opt.weights, natural]) raised numpy's "float() argument must be ... not 'dict'"; one mapping worked.
    f = _frame(30, 0)
    law = get_law("linear").fit(f, targets="x")
    rows = [{"web": 0.5, "wiki": 0.5}, {"w:code": 1.0}]
    np.testing.assert_allclose(law.predict(rows), law.predict(np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])))
    with pytest.raises(InputError, match="not among the law's domains"):
        law.predict([{"web": 1.0}, {"books": 1.0}])


def test_a_frame_in_its_own_column_names_without_losses_says_how_to_pass_them():
    # fit(df, targets="loss_pile") on a frame of plain columns read every column as a domain: a text column raised
    # numpy's "could not convert string to float: 'r0'", a numeric one "fit needs losses (or a RunTable)".
    f = _frame(30, 0)
    df = pd.DataFrame({"web": f["w:web"], "code": f["w:code"], "wiki": f["w:wiki"], "loss_x": f["loss:x"]})
    with pytest.raises(InputError, match=r"\['loss_x'\] would be a domain; pass fit\(df.drop"):
        get_law("linear").fit(df, targets="loss_x")
    with pytest.raises(InputError, match=r"column\(s\) \['name'\] that are not numbers"):
        get_law("linear").fit(df.assign(name=f["run"]), targets="loss_x")
    law = get_law("linear").fit(df.drop(columns=["loss_x"]), df["loss_x"])  # the way the message gives
    assert law.domains_ == ["web", "code", "wiki"] and law.targets_ == ["loss_x"]
    objects = df.drop(columns=["loss_x"]).astype(object)  # numbers held in object columns are still numbers
    np.testing.assert_allclose(get_law("linear").fit(objects, df["loss_x"]).predict(objects), law.predict(objects))


def test_predict_reads_an_inline_mixture_longer_than_a_file_name() -> None:
    # predict --mixtures takes export's inline spec; one of 50 domains is over the file-name limit, and Path.exists
    # raised ENAMETOOLONG ("File name too long") before it was read as a mixture.
    from mixlaw.api import _one_mixture

    spec = ",".join(f"domain_{i}=0.02" for i in range(50))
    assert len(spec) > 255
    mix = _one_mixture(spec)
    assert mix is not None and len(mix) == 50


def test_a_frame_without_one_of_the_laws_domains_is_refused_naming_the_column():
    # Its rows fall short of 1 by the missing share: the error named a row's sum and not the column the frame lacks
    # (hunt29).
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 40)
    df = pd.DataFrame(W, columns=["w:web", "w:wiki", "w:code"]).assign(**{"loss:web": 3 + np.exp(-2 * W[:, 0])})
    law = get_law("linear").fit(df)
    with pytest.raises(DataError, match=r"missing weight column\(s\) \['w:wiki'\] that the law was fitted on"):
        law.predict(df.drop(columns="w:wiki"))
    # The message it got when the rows did sum to 1 (the column is needed all the same).
    whole = df.assign(**{"w:web": df["w:web"] + df["w:wiki"]}).drop(columns="w:wiki")
    with pytest.raises(DataError, match=r"missing weight column\(s\) \['w:wiki'\]"):
        law.predict(whole)


def test_a_domain_at_share_0_that_the_law_lacks_is_left_out_in_every_form():
    # A run-table frame with an all-zero 'w:news' was predicted (the column trains on nothing: table_weights_for),
    # while the same mixtures as a plain-named frame, a Series or a {domain: share} mapping were refused ("not a
    # domain: ['news']", "not among the law's domains").
    f = _frame(30, 0)
    law = get_law("linear").fit(f, targets="x")
    want = law.predict(f)
    plain = f[["w:web", "w:code", "w:wiki"]].set_axis(["web", "code", "wiki"], axis=1).assign(news=0.0)
    np.testing.assert_allclose(law.predict(f.assign(**{"w:news": 0.0})), want, rtol=1e-12)
    np.testing.assert_allclose(law.predict(plain), want, rtol=1e-12)
    np.testing.assert_allclose(law.predict(plain[["news", "wiki", "web", "code"]]), want, rtol=1e-12)
    np.testing.assert_allclose(law.predict(plain.iloc[0]), want[:1], rtol=1e-12)
    one = {"web": 0.5, "wiki": 0.5}
    np.testing.assert_array_equal(law.predict({**one, "news": 0}), law.predict(one))
    np.testing.assert_array_equal(law.predict([{**one, "w:news": 0.0}, one]), law.predict([one, one]))
    # a share anywhere is still refused, in each form
    with pytest.raises(InputError, match=r"not a domain: \['news'\]"):
        law.predict(plain.assign(news=[0.0] * 29 + [0.1]))
    with pytest.raises(InputError, match=r"\['news'\] that are not among the law's domains"):
        law.predict({"web": 0.5, "wiki": 0.4, "news": 0.1})


def test_score_refuses_losses_named_after_other_evals():
    # score read a frame's loss columns by position unless they were the targets in another order, and a Series'
    # name not at all: a law fitted on 'x' and 'y' scored df[["loss:y", "loss:z"]] with y's losses against x's
    # predictions, and one fitted on 'x' scored a Series named 'loss:y' against x's (R^2 -13.5), without a word,
    # where fit refuses targets= that does not name the losses given (hunt34c).
    f = _frame(30, 0).assign(**{"loss:z": lambda d: 4 - d["w:code"]})
    wcols = ["w:web", "w:code", "w:wiki"]
    law = get_law("linear").fit(f[wcols], f[["loss:x", "loss:y"]])
    with pytest.raises(InputError, match=r"losses are named \['y', 'z'\].*the law's eval sets \['x', 'y'\]"):
        law.score(f, f[["loss:y", "loss:z"]])
    one = get_law("linear").fit(f[wcols], f["loss:x"])
    assert one.targets_ == ["x"] and one.score(f, f["loss:x"]) > 0.99
    with pytest.raises(InputError, match=r"losses are named \['y'\].*the law's eval sets \['x'\]"):
        one.score(f, f["loss:y"])
    with pytest.raises(InputError, match=r"losses are named \['y'\]"):
        one.score(f[wcols], f[["loss:y"]])
    # A law fitted on unnamed losses (its evals y0, y1) cannot tell a name from another: read by position, as before.
    unnamed = get_law("linear").fit(f[wcols].to_numpy(), f["loss:x"].to_numpy())
    X = f[wcols].to_numpy()
    assert unnamed.score(X, f["loss:x"]) == unnamed.score(X, f["loss:x"].to_numpy())
    # Names the loss: prefix, a frame of the targets in another order, and unnamed losses are read as before.
    assert one.score(f, f["loss:x"].rename("x")) == one.score(f, f["loss:x"].to_numpy())
    assert one.score(f, f["loss:x"].rename(None)) == one.score(f, f["loss:x"].to_numpy())
