"""One declarative schema for every hyper-parameter of every estimator in the package.

Each entry says what a value may be and, in one line, what it means. `validate` checks an estimator's
parameters against it at the start of `fit`, before any data is touched, so a bad value is refused
with a message naming the parameter and the value instead of failing deep inside torch, being
silently truncated, or giving NaN. `schema_json()` exports the same table for other front ends
(the R package checks its arguments against it).

Why strict: values from R or the command line arrive as floats, strings or NA; ``2.7`` epochs or a
boolean where a count is expected are mistakes to report, not to round.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional


class ParameterError(ValueError):
    """A hyper-parameter value outside what the schema allows; the message names both."""


@dataclass(frozen=True)
class Param:
    """kind: 'int', 'float', 'bool', 'choice', 'int_seq' or 'seed'; `auto` also allows the string "auto"."""

    kind: str
    help: str
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    choices: Sequence[Any] = field(default_factory=tuple)
    none_ok: bool = False
    auto: bool = False
    prefix_choices: bool = False  # e.g. "cuda:1" accepted when "cuda" is a choice

    def describe(self) -> str:
        if self.kind == "choice":
            what = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "bool":
            what = "True or False"
        elif self.kind == "int_seq":
            what = "a sequence of positive integers"
        elif self.kind == "seed":
            what = "an integer in [0, 2**32 - 1]"
        else:
            lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
            hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
            rng = " and ".join(x for x in (lo, hi) if x)
            what = f"{'an integer' if self.kind == 'int' else 'a number'}{' ' + rng if rng else ''}"
        if self.auto:
            what += ' or "auto"'
        if self.none_ok:
            what += " or None"
        return what


def _num(kind: str, help: str, low=None, high=None, **kw) -> Param:
    return Param(kind, help, low, high, **kw)


SCHEMA: dict[str, Param] = {
    "n_components": _num("int", "embedding dimension", 1, 100_000),
    "hidden_dims": Param("int_seq", "encoder hidden layer widths (empty: a linear encoder)"),
    "projector_dims": Param("int_seq", "projector widths; the Barlow Twins loss is computed on their output"),
    "n_genes": _num("int", "top-variable genes to use (None: all)", 2, None, none_ok=True),
    "input_scale": Param("choice", "scale of the input values", choices=("auto", "counts", "log2", "linear")),
    "beta_max": _num("float", "largest normal fraction mixed into a view", 0.0, 1.0, high_open=True),
    "n_mix": _num("int", "normals averaged into each view's background profile", 1, 1000),
    "mask_prob": _num("float", "fraction of genes masked in each view", 0.0, 1.0, high_open=True),
    "noise_std": _num("float", "Gaussian noise added to each view (gene standard deviations)", 0.0, 100.0),
    "clean_anchor": Param("bool", "never mix the first view of each pair"),
    "lambd": _num("float", "weight of the Barlow Twins redundancy (off-diagonal) term", 0.0, 1e3),
    "invariance_weight": _num("float", "weight of the Barlow Twins invariance loss", 0.0, 1e3),
    "content_weight": _num("float", "weight of the content head's loss (0: no head)", 0.0, 1e3),
    "encoder_input": Param(
        "choice", "what the encoder reads", choices=("log", "normal_difference", "invariant", "pca")
    ),
    "invariant_shrinkage": _num("float", "ridge of the invariant front-end's directions", 0.0, 1e6),
    "drop_mixing_dims": _num("int", "trained dimensions most moved by mixing, dropped after training", 0, 100_000),
    "n_networks": _num("int", "networks trained side by side, one last step over all of them", 1, 64),
    "lr": _num("float", "AdamW learning rate", 0.0, 10.0, low_open=True),
    "weight_decay": _num("float", "AdamW weight decay", 0.0, 10.0),
    "batch_size": _num("int", "tumors per optimiser step", 2, None, auto=True),
    "max_epochs": _num("int", "training epochs", 1, 1_000_000, auto=True),
    "early_stopping": Param("bool", "stop when the epoch loss stops improving"),
    "patience": _num("int", "epochs without improvement before early stopping", 1, 1_000_000),
    "device": Param("choice", "where to train", choices=("auto", "cpu", "cuda", "mps"), prefix_choices=True),
    "bf16": Param("bool", "bf16 autocast on CUDA"),
    "fill_missing": Param("choice", "missing genes at transform time", choices=("error", "mean")),
    "check_orientation": Param("bool", "refuse matrices that look like genes x samples"),
    "random_state": Param("seed", "random seed (None: not reproducible)", none_ok=True),
    "verbose": Param("bool", "progress bar and messages"),
    "alpha": _num("float", "contrastive PCA: weight of the normals' covariance", 0.0, 1e6),
    "n_draws": _num("int", "mixed copies of each tumor used to estimate the mixing covariance", 1, 1000),
    "shrinkage": _num("float", "ridge on the mixing covariance, as a fraction of its mean eigenvalue", 0.0, 1e6),
    "max_rank": _num("int", "principal components of the tumors the eigenproblem is solved in", 1, 100_000),
}


def _bad(name: str, value: Any, p: Param) -> ParameterError:
    return ParameterError(f"{name}={value!r} is not allowed: {name} ({p.help}) must be {p.describe()}")


def check_value(name: str, value: Any) -> None:
    """Raise ParameterError unless `value` is allowed for parameter `name`."""
    if name not in SCHEMA:
        raise ParameterError(f"unknown parameter {name!r}")
    p = SCHEMA[name]
    if value is None:
        if p.none_ok:
            return
        raise _bad(name, value, p)
    if p.auto and isinstance(value, str):
        if value == "auto":
            return
        raise _bad(name, value, p)
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise _bad(name, value, p)
    elif p.kind == "choice":
        ok = isinstance(value, str) and (
            value in p.choices
            or (
                p.prefix_choices and any(value.startswith(f"{c}:") and value[len(c) + 1 :].isdigit() for c in p.choices)
            )
        )
        if not ok:
            raise _bad(name, value, p)
    elif p.kind == "seed":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= int(value) <= 2**32 - 1:
            raise _bad(name, value, p)
    elif p.kind == "int_seq":
        if (
            isinstance(value, (str, bytes))
            or not isinstance(value, Sequence)
            or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) < 1 for v in value)
        ):
            raise _bad(name, value, p)
    elif p.kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise _bad(name, value, p)
        if p.kind == "int" and not isinstance(value, numbers.Integral):
            raise _bad(name, value, p)  # 2.7 epochs is a mistake, not 2
        v = float(value)
        if not math.isfinite(v):
            raise _bad(name, value, p)
        if p.low is not None and (v < p.low or (p.low_open and v == p.low)):
            raise _bad(name, value, p)
        if p.high is not None and (v > p.high or (p.high_open and v == p.high)):
            raise _bad(name, value, p)
    else:  # pragma: no cover - a schema entry with an unknown kind is a programming error
        raise AssertionError(f"schema kind {p.kind!r}")


def validate(params: dict[str, Any], owner: str = "estimator") -> None:
    """Check every parameter of an estimator; the first bad one is reported with its name and value."""
    missing = [k for k in params if k not in SCHEMA]
    if missing:
        raise ParameterError(f"{owner}: parameters without a schema entry: {', '.join(missing)}")
    for k, v in params.items():
        check_value(k, v)


def schema_json() -> str:
    """The schema as JSON: {name: {kind, help, low, high, ..., description}}.

    One table of every estimator hyper-parameter (the union over all estimators of the package),
    for front ends that check arguments before calling Python: the R package validates against it.

    Returns
    -------
    str
        A JSON object mapping each parameter name to its entry: ``kind`` ("int", "float", "bool",
        "choice", "int_seq" or "seed"), ``help`` (one line), ``low`` and ``high`` (bounds or null),
        ``low_open`` and ``high_open`` (whether a bound is excluded), ``none_ok`` (None allowed),
        ``auto`` (the string "auto" allowed), ``choices`` (a list, empty unless kind is "choice")
        and ``description`` (the allowed values in words, as in error messages).

    Examples
    --------
    >>> import json
    >>> from twinpurify.params import schema_json
    >>> schema = json.loads(schema_json())
    >>> schema["n_components"]["kind"], schema["n_components"]["description"]
    ('int', 'an integer >= 1 and <= 100000')
    >>> schema["input_scale"]["choices"]
    ['auto', 'counts', 'log2', 'linear']
    """
    out = {}
    for k, p in SCHEMA.items():
        d = {f: getattr(p, f) for f in ("kind", "help", "low", "high", "low_open", "high_open", "none_ok", "auto")}
        d["choices"] = list(p.choices)
        d["description"] = p.describe()
        out[k] = d
    return json.dumps(out, indent=1)
