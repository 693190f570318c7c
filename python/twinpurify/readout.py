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
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: ridge strengths tried, relative to the number of training samples (embedding columns standardised)
ALPHA_GRID = np.logspace(-4, 2, 13)


class Readout:
    """Z -> standardised genes: ``Xs_hat = Z @ coef + intercept`` (coef (k, genes), intercept (genes,))."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, alpha: float, train_r2: float):
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.alpha = float(alpha)
        self.train_r2 = float(train_r2)

    @classmethod
    def fit(cls, Z: np.ndarray, Xs: np.ndarray, alphas: np.ndarray = ALPHA_GRID) -> Readout:
        """Ridge from the embedding to the genes, one shared strength chosen by leave-one-out error.

        Leave-one-out residuals come in closed form from one SVD of the standardised embedding
        (e_i / (1 - h_ii)), so the choice costs one fit per candidate, not n.
        """
        Z = np.asarray(Z, dtype=np.float64)
        Y = np.asarray(Xs, dtype=np.float64)
        n = len(Z)
        if n < 3:
            raise ValueError(f"the readout needs at least 3 training samples, got {n}")
        z_mean, z_sd = Z.mean(0), Z.std(0)
        z_sd = np.where(
            z_sd > 1e-12 * max(1.0, float(z_sd.max(initial=0.0))), z_sd, np.inf
        )  # constant columns drop out
        y_mean = Y.mean(0)
        U, s, Vt = np.linalg.svd((Z - z_mean) / z_sd, full_matrices=False)
        UtY = U.T @ (Y - y_mean)
        best = (np.inf, float(alphas[0]) * n)
        for a in np.asarray(alphas, dtype=np.float64) * n:
            d = s**2 / (s**2 + a)
            h = (U**2) @ d + 1.0 / n  # leverage, the intercept included
            resid = (Y - y_mean) - U @ (d[:, None] * UtY)
            loo = float(((resid / (1.0 - h)[:, None]) ** 2).sum())
            if loo < best[0]:
                best = (loo, float(a))
        a = best[1]
        beta = Vt.T @ ((s / (s**2 + a))[:, None] * UtY)  # on standardised Z
        coef = beta / z_sd[:, None]
        intercept = y_mean - z_mean @ coef
        fitted = Z @ coef + intercept
        ss_res = ((Y - fitted) ** 2).sum()
        ss_tot = ((Y - y_mean) ** 2).sum()
        return cls(coef, intercept, a / n, 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0)

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(Z, dtype=np.float32) @ self.coef + self.intercept

    # ---- persistence: arrays in the weights file, scalars in config.json ------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        return {"readout.coef": self.coef, "readout.intercept": self.intercept}

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "train_r2": self.train_r2}

    @classmethod
    def from_saved(
        cls, arrays: dict[str, np.ndarray], config: dict[str, Any], n_components: int, n_genes: int
    ) -> Readout:
        """Rebuild from a model folder; shapes are checked against the model (ValueError if they differ)."""
        coef, intercept = arrays["readout.coef"], arrays["readout.intercept"]
        if coef.shape != (n_components, n_genes) or intercept.shape != (n_genes,):
            raise ValueError(
                f"readout arrays have shapes {coef.shape} and {intercept.shape}; "
                f"the model has {n_components} components and {n_genes} genes"
            )
        return cls(coef, intercept, float(config.get("alpha", np.nan)), float(config.get("train_r2", np.nan)))
