"""The parameter schema: complete, and every bad value refused by name before any work."""

import inspect
import json
import math

import pytest
import twinpurify as tp
from hypothesis import given, settings
from hypothesis import strategies as st
from twinpurify.params import SCHEMA, ParameterError, check_value, schema_json

CLASSES = [
    tp.TwinPurify,
    tp.RawProfiles,
    tp.PCAEmbedding,
    tp.ContrastivePCA,
    tp.NormalDifference,
    tp.InvariantProjection,
    tp.AutoencoderEmbedding,
]


@pytest.mark.parametrize("cls", CLASSES)
def test_every_parameter_has_a_schema_entry_and_defaults_pass(cls):
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert set(names) <= set(SCHEMA), set(names) - set(SCHEMA)
    for name, value in cls().get_params().items():
        check_value(name, value)


@pytest.mark.parametrize(
    "cls,kw,match",
    [
        (tp.TwinPurify, dict(hidden_dims=(0,)), "hidden_dims=\\(0,\\)"),
        (tp.TwinPurify, dict(hidden_dims=64), "hidden_dims=64"),
        (tp.TwinPurify, dict(projector_dims=(-1,)), "projector_dims"),
        (tp.TwinPurify, dict(beta_max="x"), "beta_max='x'"),
        (tp.TwinPurify, dict(lr="abc"), "lr='abc'"),
        (tp.TwinPurify, dict(lr=0), "lr=0"),
        (tp.TwinPurify, dict(lambd=-1), "lambd=-1"),
        (tp.TwinPurify, dict(random_state=2**70), "random_state"),
        (tp.TwinPurify, dict(max_epochs=2.7), "max_epochs=2.7"),
        (tp.TwinPurify, dict(max_epochs=True), "max_epochs=True"),
        (tp.TwinPurify, dict(n_components=float("nan")), "n_components=nan"),
        (tp.TwinPurify, dict(device="gpu"), "device='gpu'"),
        (tp.TwinPurify, dict(batch_size="big"), "batch_size='big'"),
        (tp.PCAEmbedding, dict(n_components=0), "n_components=0"),
        (tp.ContrastivePCA, dict(alpha=float("nan")), "alpha=nan"),
        (tp.InvariantProjection, dict(shrinkage=-1.0), "shrinkage=-1.0"),
    ],
)
def test_bad_values_are_refused_by_name_before_any_work(log_pair, cls, kw, match):
    t, n = log_pair
    with pytest.raises(ParameterError, match=match):
        cls(**kw).fit(t, n)
    with pytest.raises(ParameterError, match=match):
        cls(**kw).fit_transform(t, n)


def test_accepted_edge_values():
    for name, value in [
        ("device", "cuda:1"),
        ("batch_size", "auto"),
        ("n_genes", None),
        ("hidden_dims", ()),
        ("beta_max", 0.0),
        ("random_state", 2**32 - 1),
        ("random_state", None),
    ]:
        check_value(name, value)


def test_schema_json_round_trips():
    d = json.loads(schema_json())
    assert set(d) == set(SCHEMA)
    assert d["lr"]["low"] == 0 and d["lr"]["low_open"] is True and "number" in d["lr"]["description"]


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(SCHEMA)),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**80), 2**80),
        st.floats(allow_nan=True),
        st.text(max_size=6),
        st.lists(st.integers(-3, 600), max_size=3),
    ),
)
def test_any_value_is_either_refused_by_name_or_within_its_description(name, value):
    try:
        check_value(name, value)
    except ParameterError as e:
        assert name in str(e)
        return
    p = SCHEMA[name]
    if value is None:
        assert p.none_ok
    elif isinstance(value, str):
        assert (p.auto and value == "auto") or value in p.choices
    elif p.kind in ("int", "float"):
        assert not isinstance(value, bool) and math.isfinite(float(value))
        assert p.low is None or value >= p.low
        assert p.high is None or value <= p.high
        assert p.kind == "float" or isinstance(value, int)
    elif p.kind == "int_seq":
        assert all(isinstance(v, int) and v >= 1 for v in value)
    elif p.kind == "bool":
        assert isinstance(value, bool)
