"""Library logging: a NullHandler only at import, explicit opt-in verbosity, per-call quiet."""

import logging
import subprocess
import sys
import threading

import pytest
import twinpurify as tp
from twinpurify.settings import LOGGER_NAME, quiet


def test_import_prints_nothing_and_adds_no_stream_handler():
    code = (
        "import logging, twinpurify; log = logging.getLogger('twinpurify'); "
        "print([type(h).__name__ for h in log.handlers])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['NullHandler']" and out.stderr == ""


def test_basicconfig_shows_each_message_once(log_pair):
    code = (
        "import logging, numpy as np, pandas as pd, twinpurify as tp; logging.basicConfig(level=logging.INFO); "
        "x = pd.DataFrame(np.random.default_rng(0).poisson(500, (20, 30)).astype(float), "
        "columns=[f'g{i}' for i in range(30)]); tp.RawProfiles(n_genes=None).fit(x)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.count("detected integer counts") == 1


def test_verbosity_is_an_explicit_opt_in(capsys):
    log = logging.getLogger(LOGGER_NAME)
    try:
        tp.settings.verbosity = 2
        log.info("hello note")
        assert "twinpurify: hello note" in capsys.readouterr().err
        tp.settings.verbosity = 1
        log.info("hidden note")
        assert "hidden note" not in capsys.readouterr().err
        with pytest.raises(ValueError, match="verbosity"):
            tp.settings.verbosity = 7
    finally:
        tp.settings.verbosity = None
    assert [type(h).__name__ for h in log.handlers] == ["NullHandler"]


def test_quiet_is_per_thread_and_leaves_the_logger_level_alone(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    log = logging.getLogger(LOGGER_NAME)
    level = log.level
    seen = []

    def other():
        log.info("from the other thread")
        seen.append(True)

    with quiet():
        log.info("silenced note")
        log.warning("kept warning")
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert log.level == level
    assert "silenced note" not in caplog.text and "kept warning" in caplog.text
    assert "from the other thread" in caplog.text and seen


def test_verbose_false_silences_one_fit_only(log_pair, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    t, _ = log_pair
    tp.RawProfiles(n_genes=20, verbose=False).fit(t)
    assert "input_scale='auto'" not in caplog.text
    tp.RawProfiles(n_genes=20).fit(t)
    assert "input_scale='auto'" in caplog.text


def test_warnings_name_the_callers_line_whatever_the_path_inside():
    """A warning points at the user's own line, not at a frame inside twinpurify or scikit-learn's transform
    wrapper (hand-counted stacklevels had gone stale by a level as call paths changed)."""
    import warnings

    c = tp.datasets.simulate_cohort(n_tumors=20, n_normals=4, n_genes=60, seed=1)
    fast = dict(n_networks=1, max_epochs=1, batch_size=8, hidden_dims=(16,), projector_dims=(16, 16))
    expected = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pca = tp.PCAEmbedding(3, verbose=False).fit(c.tumors)
        pca.transform(c.tumors.to_numpy())  # genes matched by position (through scikit-learn's set_output wrapper)
        expected.append(sys._getframe().f_lineno - 1)
        tp.TwinPurify(10, verbose=False, random_state=0, **fast).fit(c.tumors.iloc[:8], c.normals)  # constant columns
        expected.append(sys._getframe().f_lineno - 1)
        tp.RawProfiles(n_genes=None, verbose=False).fit(c.tumors, c.normals.iloc[:, :50])  # genes dropped
        expected.append(sys._getframe().f_lineno - 1)
    mine = [(w.filename, w.lineno) for w in caught if issubclass(w.category, UserWarning)]
    assert [line for f, line in mine if f == __file__] == expected, mine
