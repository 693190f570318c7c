"""The way back from an embedding to genes: a ridge readout fitted after the embedding.

Any embedding (TwinPurify's or a baseline's) says nothing gene by gene. The readout is the
linear map from the embedding to the model's standardised log2 genes that best predicts the
training tumors, with the ridge strength chosen by leave-one-out (generalised) cross-validation:
its prediction for a tumor is *the part of that tumor's profile that the embedding carries*.
What the embedding dropped (ideally the normal-tissue contamination) cannot come back; what it
kept (tumor-intrinsic programs, immune signal, and any purity it leaked) does.

It is linear on purpose: a purified profile is then a fixed weighted combination of embedding
coordinates, so pathway scores of it are linear in the embedding and can be audited. It is not a
deconvolved cancer-cell profile.

A low-dimensional embedding cannot carry every tumor-intrinsic program a pathway score reads, so
the readout alone loses program signal that the bulk profile has (benchmarks/pathways.md). The
*residual* form keeps the sample's own profile and replaces only its coordinates along the
contamination directions (the mean normal's difference from the mean tumor and the leading ways
the cohort's normals differ from one another, i.e. where mixing a tumor with its normals moves it,
to first order) by the readout's values there: the purified embedding decides what stays along
those directions, the profile itself everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, Optional

import numpy as np

#: ridge strengths tried, relative to the number of training samples (embedding columns standardised)
ALPHA_GRID = np.logspace(-4, 2, 13)
#: leading principal directions of the normals kept among the contamination directions
N_NORMAL_DIRECTIONS = 5


def contamination_directions(
    tumor_mean: np.ndarray, normals: np.ndarray, n_normal: int = N_NORMAL_DIRECTIONS
) -> np.ndarray:
    """Orthonormal basis (genes, q) of the directions mixing with normals moves a tumor, to first order.

    Both inputs are on the model's standardised log2 scale: `tumor_mean` (genes,), `normals`
    (n_normals, genes). The basis spans the mean normal's difference from `tumor_mean` and the
    normals' `n_normal` leading principal directions (at most n_normals - 1). A direction is left
    out when its size (the shift's length, a component's root-mean-square spread) is below 1e-5 of
    sqrt(genes), the length of a profile one standard deviation from the mean in every gene, or of
    the normals' or the tumor mean's typical length if larger: rounding noise (e.g. normals stored in
    float32 that equal the tumors' mean) is not a direction. Memory:
    a few float64 copies of the normals, plus their n_normals x n_normals Gram matrix up to 4096
    normals, past that a randomized SVD of the `n_normal` leading components.
    """
    N = np.asarray(normals, dtype=np.float64)
    t = np.asarray(tumor_mean, dtype=np.float64)
    if N.ndim != 2 or N.shape[0] < 1 or N.shape[1] != len(t):
        raise ValueError(f"normals must be (n_normals, {len(t)}), got {N.shape}")
    n = N.shape[0]
    scale = float(np.sqrt((N**2).sum() / n))  # the typical length of a normal's profile
    floor = 1e-5 * max(scale, float(np.linalg.norm(t)), float(np.sqrt(len(t))))
    mean = N.mean(0)
    cols = [mean - t]
    keep = min(int(n_normal), n - 1)
    if keep > 0:
        Nc = N - mean
        if n <= 4096:  # the normals' Gram matrix: n x n, exact
            w, V = np.linalg.eigh(Nc @ Nc.T)
            order = np.argsort(w)[::-1][:keep]
            sv = np.sqrt(np.clip(w[order], 0.0, None))
            dirs = (V[:, order].T @ Nc) / np.where(sv > 0, sv, 1.0)[:, None]
        else:  # many normals: only the leading components
            from sklearn.utils.extmath import randomized_svd

            _, sv, dirs = randomized_svd(Nc, keep, random_state=0)
        cols += [d * (s_ / np.sqrt(n)) for d, s_ in zip(dirs, sv)]  # scaled by their spread
    S = np.stack([c for c in cols if np.linalg.norm(c) > floor] or [np.zeros(len(t))], axis=1)
    U, sv, _ = np.linalg.svd(S, full_matrices=False)
    return np.ascontiguousarray(U[:, sv > max(floor, 1e-6 * float(sv.max(initial=0.0)))], dtype=np.float32)


class Readout:
    """Z -> standardised genes: ``Xs_hat = Z @ coef + intercept`` (coef (k, genes), intercept (genes,)).

    `directions` (genes, q), orthonormal, are the contamination directions of the residual form
    (`purify`); None when the model was fitted without normals or saved before they existed.
    """

    def __init__(
        self,
        coef: np.ndarray,
        intercept: np.ndarray,
        alpha: float,
        train_r2: float,
        directions: Optional[np.ndarray] = None,
    ):
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.alpha = float(alpha)
        self.train_r2 = float(train_r2)
        self.directions = None if directions is None else np.asarray(directions, dtype=np.float32)

    @classmethod
    def fit(cls, Z: np.ndarray, Xs: np.ndarray, alphas: np.ndarray = ALPHA_GRID, block: int = 2048) -> Readout:
        """Ridge from the embedding `Z` (n, k) to the genes `Xs` (n, genes); see `fit_blocks`."""
        X = np.asarray(Xs)
        return cls.fit_blocks(Z, lambda: ((i, X[i : i + block]) for i in range(0, len(X), block)), alphas)

    @classmethod
    def fit_blocks(
        cls,
        Z: np.ndarray,
        blocks: Callable[[], Iterator[tuple[int, np.ndarray]]],
        alphas: np.ndarray = ALPHA_GRID,
        *,
        n_genes: Optional[int] = None,
        reduce: Optional[Callable[[np.ndarray], np.ndarray]] = None,
        lead: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    ) -> Readout:
        """Ridge from the embedding to the genes, one shared strength chosen by leave-one-out error.

        `blocks()` yields (first row, rows of the standardised genes); it is called twice, so
        the genes never need to be in memory at once (or in float64): memory is O(n k + k genes).
        Leave-one-out residuals come in closed form from one SVD of the standardised embedding
        (e_i / (1 - h_ii)), and their squared norms from k x k algebra per candidate strength, so the
        choice costs two passes over the genes in all, not one fit per sample or per candidate.

        Split over processes (an out-of-core fit on several ranks): `Z` is every sample's embedding,
        `blocks()` yields only this process's rows (by their global first row), `reduce` sums an
        array over the processes and `lead` gives the first process's copy of one (the embedding's
        SVD, so that every process sums in the same basis); every process then ends with the same
        readout. `n_genes` is needed there for a process that reads no block.
        """
        total = reduce if reduce is not None else (lambda a: a)
        first = lead if lead is not None else (lambda a: a)
        Z = np.asarray(Z, dtype=np.float64)
        n, k = Z.shape
        if n < 3:
            raise ValueError(f"the readout needs at least 3 training samples, got {n}")
        z_mean, z_sd = Z.mean(0), Z.std(0)
        z_sd = np.where(
            z_sd > 1e-12 * max(1.0, float(z_sd.max(initial=0.0))), z_sd, np.inf
        )  # constant columns drop out
        U, s, Vt = (first(a) for a in np.linalg.svd((Z - z_mean) / z_sd, full_matrices=False))
        # pass 1: gene means and C = U' Y (U's columns are orthogonal to the ones vector: U'Y = U'(Y - mean))
        y_sum: Optional[np.ndarray] = None
        C: Optional[np.ndarray] = None
        read = 0
        for i, Yb in blocks():
            Yb = np.asarray(Yb, dtype=np.float64)
            y_sum = Yb.sum(0) if y_sum is None else y_sum + Yb.sum(0)
            part = U[i : i + len(Yb)].T @ Yb
            C = part if C is None else C + part
            read += len(Yb)
        read = int(round(float(total(np.array([float(read)]))[0])))
        if read != n:  # every sample's genes exactly once, over all processes
            raise ValueError(f"the blocks hold {read} rows of genes but the embedding has {n}")
        if y_sum is None or C is None:  # a process that read no block adds zeros
            if n_genes is None:
                raise ValueError("no block of genes was read (and n_genes was not given)")
            y_sum, C = np.zeros(n_genes), np.zeros((len(s), n_genes))
        y_sum, C = total(y_sum), total(C)
        y_mean = y_sum / n
        # pass 2: per-sample squared norms of the centred genes and their projections P = Yc C'
        q = np.zeros(n)
        P = np.zeros((n, len(s)))
        for i, Yb in blocks():
            Yc = np.asarray(Yb, dtype=np.float64) - y_mean
            q[i : i + len(Yc)] = np.einsum("ij,ij->i", Yc, Yc)
            P[i : i + len(Yc)] = Yc @ C.T
        q, P = total(q), total(P)  # each sample's row comes from the one process that read it
        G = C @ C.T
        best: tuple[float, float, float] = (np.inf, float(alphas[0]) * n, 0.0)
        for a in np.asarray(alphas, dtype=np.float64) * n:
            d = s**2 / (s**2 + a)
            Ud = U * d
            h = (U * Ud).sum(1) + 1.0 / n  # leverage, the intercept included
            rss_i = q - 2.0 * (Ud * P).sum(1) + ((Ud @ G) * Ud).sum(1)  # ||y_i - fitted_i||^2
            loo = float((rss_i / (1.0 - h) ** 2).sum())
            if loo < best[0]:
                best = (loo, float(a), float(rss_i.sum()))
        _, a, rss = best
        beta = Vt.T @ ((s / (s**2 + a))[:, None] * C)  # on standardised Z
        coef = beta / z_sd[:, None]
        intercept = y_mean - z_mean @ coef
        ss_tot = float(q.sum())
        return cls(coef, intercept, a / n, 1.0 - rss / ss_tot if ss_tot > 0 else 0.0)

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(Z, dtype=np.float32) @ self.coef + self.intercept

    def purify(self, Xs: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """The residual form: `Xs` with its part along `directions` replaced by the readout's.

        ``Xs - (Xs - predict(Z)) Q Q'``: outside the contamination directions the sample's own
        standardised profile, inside them what its embedding predicts.
        """
        if self.directions is None:
            raise ValueError("this readout has no contamination directions (fitted without normals)")
        X = np.asarray(Xs, dtype=np.float32)
        Q = self.directions
        return X - ((X - self.predict(Z)) @ Q) @ Q.T

    # ---- persistence: arrays in the weights file, scalars in config.json ------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        out = {"readout.coef": self.coef, "readout.intercept": self.intercept}
        if self.directions is not None:
            out["readout.directions"] = self.directions
        return out

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "train_r2": self.train_r2}

    @classmethod
    def from_saved(
        cls, arrays: dict[str, np.ndarray], config: dict[str, Any], n_components: int, n_genes: int
    ) -> Readout:
        """Rebuild from a model folder; shapes are checked against the model (ValueError if they differ)."""
        coef, intercept = arrays["readout.coef"], arrays["readout.intercept"]
        directions = arrays.get("readout.directions")  # absent in folders written before the residual form
        if directions is not None and directions.ndim == 2 and directions.shape[0] == n_genes:
            gram = directions.astype(np.float64).T @ directions.astype(np.float64)
            if not np.allclose(gram, np.eye(gram.shape[0]), atol=1e-3):
                raise ValueError("readout.directions are not orthonormal")
        if (
            coef.shape != (n_components, n_genes)
            or intercept.shape != (n_genes,)
            or (directions is not None and (directions.ndim != 2 or directions.shape[0] != n_genes))
        ):
            raise ValueError(
                f"readout arrays have shapes {coef.shape}, {intercept.shape}"
                + ("" if directions is None else f" and {directions.shape}")
                + f"; the model has {n_components} components and {n_genes} genes"
            )
        return cls(
            coef, intercept, float(config.get("alpha", np.nan)), float(config.get("train_r2", np.nan)), directions
        )
