"""Property-based tests (hypothesis): any bad matrix or damaged model folder gives a named error or a
correct answer, and never changes an input file."""

import hashlib
import json
import random
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twinpurify import InputError, PCAEmbedding, load_model
from twinpurify.data import as_matrix
from twinpurify.persistence import ModelFormatError

NAMED = (InputError, ModelFormatError, FileNotFoundError, FileExistsError, TypeError, ValueError)


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@st.composite
def damaged_matrices(draw):
    n = draw(st.integers(1, 8))
    g = draw(st.integers(1, 8))
    base = draw(st.lists(st.floats(-5, 1e4, allow_nan=False), min_size=n * g, max_size=n * g))
    x = np.array(base, dtype=np.float64).reshape(n, g)
    kind = draw(st.sampled_from(["nan", "inf", "dup_gene", "dup_sample", "string", "fine"]))
    df = pd.DataFrame(x, index=[f"s{i}" for i in range(n)], columns=[f"g{j}" for j in range(g)])
    if kind == "nan":
        df.iat[draw(st.integers(0, n - 1)), draw(st.integers(0, g - 1))] = np.nan
    elif kind == "inf":
        df.iat[draw(st.integers(0, n - 1)), draw(st.integers(0, g - 1))] = np.inf
    elif kind == "dup_gene" and g > 1:
        df.columns = ["g0"] * g
    elif kind == "dup_sample" and n > 1:
        df.index = ["s0"] * n
    elif kind == "string":
        df[df.columns[0]] = "x"
    return kind, df


@settings(max_examples=60, deadline=None)
@given(damaged_matrices())
def test_random_matrices_give_a_named_error_or_a_clean_matrix(case):
    kind, df = case
    try:
        m = as_matrix(df, "tumor")
    except InputError as e:
        assert kind != "fine"
        assert "tumor" in str(e)
        return
    assert np.isfinite(m.values).all() and len(set(m.genes)) == len(m.genes) and len(set(m.samples)) == len(m.samples)
    np.testing.assert_allclose(m.values, df.to_numpy(np.float32))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(5, 1, (30, 12)), columns=[f"g{j}" for j in range(12)])
    d = tmp_path_factory.mktemp("saved")
    PCAEmbedding(3, verbose=False).fit(x).save(d / "m")
    return d / "m", x


JSON_EDITS = [
    lambda c, r: [c],
    lambda c, r: {**c, "format_version": r.choice(["1", 0, -1, 1.5, None, True])},
    lambda c, r: {k: v for k, v in c.items() if k != r.choice(sorted(c))},
    lambda c, r: {**c, "preprocessor": {**c["preprocessor"], "genes_": list(reversed(c["preprocessor"]["genes_"]))}},
    lambda c, r: {**c, "preprocessor": {**c["preprocessor"], "genes_": c["preprocessor"]["genes_"][:-1]}},
    lambda c, r: {**c, "class": r.choice(["Mystery", "", "BaseEmbedder"])},
    lambda c, r: {**c, "params": r.choice([[], "x", None])},
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edit=st.integers(0, len(JSON_EDITS) - 1),
    cut=st.one_of(st.none(), st.integers(0, 400)),
    flip=st.one_of(st.none(), st.integers(0, 10_000)),
    seed=st.integers(0, 100),
)
def test_damaged_model_folders_never_load_silently(saved, tmp_path_factory, edit, cut, flip, seed):
    src, x = saved
    d = tmp_path_factory.mktemp("dmg") / "m"
    shutil.copytree(src, d)
    r = random.Random(seed)
    cfg = json.loads((d / "config.json").read_text())
    damaged = False
    if cut is None and flip is None:
        (d / "config.json").write_text(json.dumps(JSON_EDITS[edit](cfg, r)))
        damaged = True
    w = d / "weights.safetensors"
    data = bytearray(w.read_bytes())
    if cut is not None:
        data = data[:cut]
        damaged = True
    if flip is not None and flip < len(data):
        data[flip] ^= 0xFF
        damaged = True
    w.write_bytes(bytes(data))
    before = {p.name: _sha(p) for p in d.iterdir()}
    try:
        m = load_model(d)
    except NAMED as e:
        assert damaged
        assert str(d) in str(e) or "holds a" in str(e)
    else:
        # loaded: only possible if nothing that matters changed, and then it must give the right answer
        np.testing.assert_allclose(m.transform(x), load_model(src).transform(x))
    assert {p.name: _sha(p) for p in d.iterdir()} == before  # loading never writes
