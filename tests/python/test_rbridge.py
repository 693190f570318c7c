"""The R bridge's own duties: logs and progress handed to R callbacks, models as bytes for saveRDS."""

import contextlib
import json
import logging
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from twinpurify import _rbridge as bridge
from twinpurify import datasets


@pytest.fixture(scope="module")
def cohort():
    c = datasets.simulate_cohort(n_tumors=30, n_normals=6, n_genes=60, seed=1)
    X = pd.concat([c.tumors, c.normals])
    return X, [False] * 30 + [True] * 6


def _fit(X, mask, **kw):
    params = {"n_components": 3, "hidden_dims": [8], "projector_dims": [8], "max_epochs": 3, "random_state": 0}
    return bridge.fit(X.T.to_numpy(), list(X.index), list(X.columns), mask, params, **kw)


@contextlib.contextmanager
def _routed(callback):
    """Engine notes routed to `callback` as R routes them, and unrouted afterwards."""
    bridge.route_logs(callback)
    try:
        yield
    finally:
        log = logging.getLogger("twinpurify")
        for h in [h for h in log.handlers if isinstance(h, bridge._RHandler)]:
            log.removeHandler(h)


def test_progress_reports_every_epoch_and_notes_reach_the_callback(cohort):
    X, mask = cohort
    notes, ticks = [], []
    with _routed(lambda level, text: notes.append((level, text))):
        model = _fit(X, mask, progress=lambda done, total, loss: ticks.append((done, total, loss)))
    assert [(d, t) for d, t, _ in ticks] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert np.isnan(ticks[0][2]) and all(np.isfinite(x) for _, _, x in ticks[1:])
    assert any(level == logging.INFO and "input_scale='auto'" in text for level, text in notes)
    hist = bridge.info(model)["history"]
    assert hist["epoch"] == [1, 2, 3]
    assert hist["loss"] == pytest.approx([x for _, _, x in ticks[1:]], rel=1e-3)


def test_python_warnings_during_a_call_are_handed_to_the_callback(cohort):
    X, mask = cohort
    model = _fit(X, mask)
    seen = []
    shifted = np.log2(X + 1)  # log values to a count model: the engine warns about the scale
    bridge.embed(model, shifted.T.to_numpy(), list(X.index), list(X.columns), warn=lambda lv, t: seen.append((lv, t)))
    assert any(level == logging.WARNING and "scale" in text for level, text in seen)


def test_warnings_reach_r_as_raised_in_order_with_notes_and_before_a_failure():
    """Before, `_r_side` handed the warnings it caught over only when the call returned: after every note
    (out of the engine's order) and, when the call failed, never."""
    seen = []
    before = warnings.showwarning
    with _routed(lambda level, text: seen.append((level, text))):
        with pytest.raises(ValueError, match="then it fails"):
            with bridge._r_side(None, lambda level, text: seen.append((level, text))):
                warnings.warn("a warning first", UserWarning, stacklevel=1)
                logging.getLogger("twinpurify").info("a note second")
                warnings.warn("a warning third", UserWarning, stacklevel=1)
                raise ValueError("then it fails")
    assert seen == [
        (logging.WARNING, "a warning first"),
        (logging.INFO, "a note second"),
        (logging.WARNING, "a warning third"),
    ]
    assert warnings.showwarning is before  # put back for Python's own use


def test_a_warning_from_another_thread_reaches_r_from_the_calling_thread():
    """R may only be called from the thread that called in: another thread's warning waits for the call's end."""
    seen = []
    with bridge._r_side(None, lambda level, text: seen.append((text, threading.get_ident()))):
        reader = threading.Thread(target=lambda: warnings.warn("from a reader", UserWarning, stacklevel=1))
        reader.start()
        reader.join()
        warnings.warn("from the caller", UserWarning, stacklevel=1)
        assert seen == [("from the caller", threading.get_ident())]
    assert seen == [("from the caller", threading.get_ident()), ("from a reader", threading.get_ident())]


def test_a_failing_engine_call_hands_over_the_warnings_it_raised_first(cohort):
    """The reviewer's case: log2 values with genes missing warn about the scale, then fail on the genes."""
    X, mask = cohort
    model = _fit(X, mask)
    logged = np.log2(X.iloc[:, :50] + 1)
    seen = []
    with pytest.raises(ValueError, match="genes are missing"):
        bridge.embed(
            model, logged.T.to_numpy(), list(logged.index), list(logged.columns), warn=lambda lv, t: seen.append(t)
        )
    assert len(seen) == 1 and "looks like log2 values" in seen[0]


def test_model_bytes_round_trip_and_refuse_paths(cohort):
    X, mask = cohort
    model = _fit(X, mask)
    files = bridge.model_files(model)
    assert set(files) == {"config.json", "weights.safetensors"}
    assert all(isinstance(v, bytearray) and len(v) > 0 for v in files.values())
    again = bridge.model_from_files(files)
    args = (X.T.to_numpy(), list(X.index), list(X.columns))
    assert np.array_equal(bridge.embed(model, *args), bridge.embed(again, *args))
    with pytest.raises(ValueError, match="not a plain file name"):
        bridge.model_from_files({"../config.json": files["config.json"]})
    broken = dict(files)
    broken["weights.safetensors"] = bytearray(b"0" * 10)
    with pytest.raises(Exception, match="model"):
        bridge.model_from_files(broken)


def test_load_warnings_reach_r_and_name_the_model_not_a_temporary_folder(cohort, tmp_path):
    """Before, R's loads (loadTwinPurify, a model rebuilt after readRDS) did not go through `_r_side`: a
    model saved with a GPU this machine lacks warned in Python only, past R's handlers, once a session."""
    X, mask = cohort
    files = bridge.model_files(_fit(X, mask))
    cfg = json.loads(bytes(files["config.json"]))
    cfg["params"]["device"] = "cuda:99"  # a device no machine here has
    gpu = {**files, "config.json": bytearray(json.dumps(cfg).encode())}
    seen = []
    for _ in range(2):  # every load, not once a session
        assert bridge.model_from_files(gpu, warn=lambda lv, t: seen.append((lv, t))).device == "cpu"
    assert len(seen) == 2 and all(level == logging.WARNING for level, _ in seen)
    assert seen[1][1].startswith("the model was saved with device='cuda:99', which this machine does not have")
    folder = tmp_path / "m"
    folder.mkdir()
    for name, data in gpu.items():
        (folder / name).write_bytes(bytes(data))
    seen = []
    assert bridge.load(str(folder), warn=lambda lv, t: seen.append(t)).device == "cpu"
    assert seen == [seen[0]] and seen[0].startswith(f"{folder} was saved with device='cuda:99'")


def test_the_residual_form_from_r_names_fitreadout_when_directions_are_missing():
    """From R the hints name R's fitReadout(), and bridge.fit_readout adds what was missing to a copy."""
    c = datasets.simulate_cohort(n_tumors=30, n_normals=6, n_genes=60, seed=1)
    from twinpurify import PCAEmbedding

    m = PCAEmbedding(3, verbose=False).fit(c.tumors)  # no normals: no directions
    X = c.tumors.T
    with pytest.raises(ValueError, match=r"fitReadout\(model, x, normal\)"):
        bridge.purified(m, X.to_numpy(), list(X.columns), list(X.index), residual=True)
    with pytest.raises(ValueError, match="fitReadout"):
        bridge.pathway_activity(m, X.to_numpy(), list(X.columns), list(X.index), None, "ulm", 5, True, residual=True)
    assert bridge.purified(m, X.to_numpy(), list(X.columns), list(X.index))["values"].shape == (
        30,
        m.readout_.coef.shape[1],
    )
    N = c.normals.T
    files = bridge.model_files(m)
    fixed = bridge.fit_readout(
        files, X.to_numpy(), list(X.columns), list(X.index), N.to_numpy(), list(N.columns), list(N.index)
    )
    assert m.readout_.directions is None  # the original is left as it was
    tumors_only = bridge.fit_readout(files, X.to_numpy(), list(X.columns), list(X.index))
    assert tumors_only.readout_ is not None and tumors_only.readout_.directions is None
    want = fixed.purified_expression(c.tumors, residual=True).to_numpy()
    got = bridge.purified(fixed, X.to_numpy(), list(X.columns), list(X.index), residual=True)["values"]
    np.testing.assert_allclose(got, want)
    direct = PCAEmbedding(3, verbose=False).fit(c.tumors).fit_readout(c.tumors, normal=c.normals)
    np.testing.assert_allclose(
        got, direct.purified_expression(c.tumors, residual=True).to_numpy(), rtol=1e-5, atol=1e-5
    )
    m.readout_ = None  # no readout at all (a 0.1.0 folder): purified refused with the hint, raw scores still work
    with pytest.raises(ValueError, match="no gene-space readout.*fitReadout"):
        bridge.purified(m, X.to_numpy(), list(X.columns), list(X.index))
    raw = bridge.pathway_activity(m, X.to_numpy(), list(X.columns), list(X.index), c.program_net(), "ulm", 1, False)
    assert raw["values"].shape[0] == 30
