"""TwinPurify: the scikit-learn-style estimator around the Barlow Twins engine."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Optional, Union

import numpy as np
import torch

from .augment import ViewConfig, ViewGenerator
from .data import Matrix
from .distributed import current_ranks, rank_seed, shared_seed, sum_arrays_over_ranks, unify_replicas
from .invariance import fixed_front, invariant_directions, mixing_perturbations, principal_directions
from .model import BarlowTwinsModule, FixedLinearInput, NormalDifferenceInput
from .neural import NeuralEmbedder, seeded_rng
from .objective import TwinPurifyObjective
from .params import ParameterError
from .rotation import ROTATION_STREAM, VIEWS_PER_TUMOR, MixingMoments, accumulate
from .settings import warn_user
from .targets import TargetScaler, normal_difference_np
from .train import make_generator

FIXED_FRONTS = ("invariant", "pca")  # encoder inputs read through a fixed, closed-form first layer


class TwinPurify(NeuralEmbedder):
    """Tumor-intrinsic embeddings learned with Barlow Twins against the cohort's own normals.

    Two views of each tumor are made by mixing it, in linear expression space, with random normal
    profiles of the same cohort at random fractions ``beta ~ U(0, beta_max)`` (plus light masking and
    noise); the encoder is trained so that both views embed alike, so the embedding keeps what normal
    tissue cannot explain. No single-cell reference is needed.

    By default the encoder reads the training tumors' top principal components (a fixed first layer):
    Barlow Twins standardises every embedding dimension and so, left to itself, prefers the most
    mixing-invariant directions however little tumor variance they carry; reading only the cohort's
    main axes of variation keeps its subtle programs (benchmarks/TUNING.md, round 6). The network is
    trained with ``n_components + drop_mixing_dims`` dimensions; after training, the embedding
    directions that mixing with the cohort's normals still moves most are dropped by a fixed linear
    last layer (`twinpurify.rotation`): the loss makes the projector's output invariant, not the
    embedding before it (round 7). Three such networks are trained side by side and the last step keeps
    the directions of all their embeddings that mixing moves least, so each network's seed noise averages
    out (round 8; the defaults since round 11). ``encoder_input="log"`` with ``n_components=128``,
    ``beta_max=0.5``, ``drop_mixing_dims=0`` and ``n_networks=1`` gives the defaults up to round 5;
    ``drop_mixing_dims=0, beta_max=0.5, n_networks=1`` those of round 6; ``n_networks=1, beta_max=0.7``
    those of rounds 7-10.

    Parameters
    ----------
    n_components : int, default 16
        Embedding dimension (columns of `transform`'s output).
    hidden_dims : sequence of int, default (512,)
        Encoder hidden-layer widths (the autoencoder baseline uses the same); ``()`` is a linear encoder.
    projector_dims : sequence of int, default (128, 128)
        Projector widths; the Barlow Twins loss is computed on the projector's output.
    n_genes : int or None, default 3000
        Top-variable genes (over the training tumors) to use; None keeps all.
    input_scale : {"auto", "counts", "linear", "log2"}, default "auto"
        Counts become log2(CPM + 1), linear values log2(x + 1), log data is used as is; "auto" detects it.
    beta_max : float, default 0.9
        Largest fraction of normal tissue mixed into a view (0.5 before round 7, 0.7 in rounds 7-10).
    n_mix : int, default 3
        Normals averaged (Dirichlet weights) into each view's background profile.
    mask_prob : float, default 0.1
        Fraction of genes set to the training mean in each view.
    noise_std : float, default 0.1
        Gaussian noise added to each standardised view.
    clean_anchor : bool, default False
        Never mix the first view of each pair (only mask and noise it).
    lambd : float, default 5e-3
        Weight of the Barlow Twins off-diagonal (redundancy) term.
    invariance_weight : float, default 1.0
        Weight of the Barlow Twins loss.
    content_weight : float, default 0.0
        Experimental. Weight of a head that predicts each tumor's purity-free target (its unit-length
        linear-space difference from the mean normal, `twinpurify.targets`) from each mixed view's
        embedding; 0 = no head. Needs ``n_networks=1``. See benchmarks/TUNING.md, round 2.
    encoder_input : {"pca", "log", "normal_difference", "invariant"}, default "pca"
        What the encoder reads: the training tumors' top ``n_components + drop_mixing_dims`` principal
        components (of the standardised log2 profiles), the standardised log2 profiles themselves (the
        defaults up to round 5), or (experimental) the purity-free target or the closed-form invariant directions of
        `twinpurify.invariance`; all but "log" as fixed first layers saved with the model. "pca" gives
        Barlow Twins, which standardises every dimension, a preference for directions of large tumor
        variance (see above); "normal_difference" and "invariant" win on the simulator but lose PAM50 and
        copy-number signal on TCGA-BRCA.
    invariant_shrinkage : float, default 1.0
        Experimental; with ``encoder_input="invariant"`` only. The ridge of the closed-form invariant
        directions (`InvariantProjection`'s `shrinkage`): lower keeps fewer mixing-sensitive directions.
    drop_mixing_dims : int, default 2
        Extra dimensions the network is trained with (and, with ``encoder_input="pca"``, extra principal
        components it reads), dropped after training: the tumors' embedding covariance is compared with
        how mixed views of the same tumors move the embedding (a generalised eigenproblem, as in
        `InvariantProjection`) and the `n_components` most invariant directions are kept, each scaled
        by its invariance. 0: the embedding is the network's output, as before round 7. On the
        simulator (400 tumors, one network, beta_max 0.7), dropping 2 lowered purity R² by about 0.07 at equal program,
        intrinsic and subtype recovery; by 0.02-0.03 at 150 and 800 tumors (benchmarks/TUNING.md, round 7).
    n_networks : int, default 3
        Networks trained side by side (each with its own initialisation and views, sharing the fixed
        first layer and the batches; training costs 1.6-5.6 times one network's on a CPU). The last step
        then keeps the `n_components` most mixing-invariant directions of all their embeddings together,
        so directions the networks agree on survive and each network's seed noise averages out. In
        rounds 8 and 11 (benchmarks/TUNING.md) three networks with ``beta_max=0.9`` were purer and kept
        more programs and intrinsic signal than one network with ``beta_max=0.7`` (the defaults of rounds
        7-10) on the simulator at 150-800 tumors; on TCGA-BRCA they were purer by ABSOLUTE purity on both
        folders, with 0.01-0.02 less copy-number, methylation, PAM50 or C-index signal on one folder or
        the other. 1 before round 11. The loss in `history_` is the sum of the members' losses. Not
        available with `content_weight` > 0 (set ``n_networks=1`` for the content head).
    lr : float, default 1e-3
        AdamW learning rate, with linear warm-up and cosine decay.
    weight_decay : float, default 1e-4
        AdamW weight decay.
    batch_size : int or "auto", default "auto"
        Tumors per step; "auto" is 256 or the whole cohort when smaller.
    max_epochs : int or "auto", default "auto"
        "auto" targets about 300 optimiser steps (10-400 epochs).
    early_stopping : bool, default False
        Stop when the epoch loss has not improved by 0.1% for `patience` epochs.
    patience : int, default 20
        See `early_stopping`.
    device : str, default "auto"
        "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...
    bf16 : bool, default True
        bf16 autocast on CUDA (the loss stays float32); ignored on CPU.
    fill_missing : {"error", "mean"}, default "error"
        Genes missing at transform time: an error naming them, or the training mean (at least 50% of
        the model's genes must be present; counts of the genes present are per million of their own total).
    check_orientation : bool, default True
        Refuse matrices that look like genes x samples.
    random_state : int or None, default None
        Seed; a fixed seed gives identical results on CPU (with the same thread count). torch's global
        generator, which it seeds for weight initialisation, is restored after the fit.
    verbose : bool, default True
        Progress bar (on terminals) and notes for this call.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network; ``module_.embedding_module()`` maps standardised profiles to the embedding
        (``module_.encoder``, then the fixed last layer ``module_.output`` when `drop_mixing_dims` > 0 or
        `n_networks` > 1).
    preprocessor_ : twinpurify.data.Preprocessor
        Scale, selected genes and per-gene mean/sd, applied identically at transform time.
    genes_ : list of str
        The genes the model uses, in model order.
    n_features_in_ : int
        Number of genes (columns) seen in `fit`.
    feature_names_in_ : ndarray of str
        Gene names seen in `fit` (only when the input had names).
    history_ : list of dict
        Per-epoch ``{"epoch", "loss", "lr"}``.
    n_epochs_ : int
        Epochs trained.
    batch_size_ : int
        Batch size used.
    device_ : str
        Device the model lives on.

    See Also
    --------
    twinpurify.NormalDifference, twinpurify.InvariantProjection : linear baselines with the same interface.
    twinpurify.tl.twinpurify : the AnnData entry point (results in ``obsm["X_twinpurify"]``).

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=60, n_normals=10, n_genes=200, seed=0)
    >>> model = tp.TwinPurify(8, hidden_dims=(32,), projector_dims=(32, 32), max_epochs=3,
    ...                       random_state=0, verbose=False)
    >>> Z = model.fit_transform(c.tumors, c.normals)
    >>> Z.shape
    (60, 8)
    >>> list(Z.columns[:3])
    ['TP1', 'TP2', 'TP3']
    """

    prefix = "TP"
    legacy_params = {
        "invariance_weight": 1.0,
        "content_weight": 0.0,
        "encoder_input": "log",
        "invariant_shrinkage": 1.0,
        "drop_mixing_dims": 0,
        "n_networks": 1,
    }

    def __init__(
        self,
        n_components: int = 16,
        *,
        hidden_dims: Sequence[int] = (512,),
        projector_dims: Sequence[int] = (128, 128),
        n_genes: Optional[int] = 3000,
        input_scale: str = "auto",
        beta_max: float = 0.9,
        n_mix: int = 3,
        mask_prob: float = 0.1,
        noise_std: float = 0.1,
        clean_anchor: bool = False,
        lambd: float = 5e-3,
        invariance_weight: float = 1.0,
        content_weight: float = 0.0,
        encoder_input: str = "pca",
        invariant_shrinkage: float = 1.0,
        drop_mixing_dims: int = 2,
        n_networks: int = 3,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: Union[int, str] = "auto",
        max_epochs: Union[int, str] = "auto",
        early_stopping: bool = False,
        patience: int = 20,
        device: str = "auto",
        bf16: bool = True,
        fill_missing: str = "error",
        check_orientation: bool = True,
        random_state: Optional[int] = None,
        verbose: bool = True,
    ):
        self.n_components = n_components
        self.hidden_dims = hidden_dims
        self.projector_dims = projector_dims
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.beta_max = beta_max
        self.n_mix = n_mix
        self.mask_prob = mask_prob
        self.noise_std = noise_std
        self.clean_anchor = clean_anchor
        self.lambd = lambd
        self.invariance_weight = invariance_weight
        self.content_weight = content_weight
        self.encoder_input = encoder_input
        self.invariant_shrinkage = invariant_shrinkage
        self.drop_mixing_dims = drop_mixing_dims
        self.n_networks = n_networks
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.device = device
        self.bf16 = bf16
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_genes: int) -> BarlowTwinsModule:
        head = self._head_dim(n_genes)
        inv = self._invariant_dims if self.encoder_input in FIXED_FRONTS else 0
        if inv and head:
            head = inv  # the content target is the clean tumor's invariant coordinates
        return BarlowTwinsModule(
            n_genes,
            list(self.hidden_dims),
            self._width,
            list(self.projector_dims),
            head,
            normal_difference_input=self.encoder_input == "normal_difference",
            invariant_dims=inv,
            output_dims=int(self.n_components) if int(self.drop_mixing_dims) or int(self.n_networks) > 1 else 0,
            n_networks=int(self.n_networks),
        )

    def _validate_params(self) -> None:
        """The schema's checks, then the combinations it cannot express, before any data is touched."""
        super()._validate_params()
        if int(self.n_networks) > 1 and float(self.content_weight) > 0:
            raise ParameterError(
                f"content_weight={self.content_weight} with n_networks={self.n_networks}: the content head is "
                "not available with several networks; use content_weight=0 or n_networks=1"
            )

    @property
    def _width(self) -> int:
        """Dimensions each network is trained with: the embedding's plus those the last step drops."""
        return int(self.n_components) + int(self.drop_mixing_dims)

    def _set_output(self, module: BarlowTwinsModule, blocks: Iterable[torch.Tensor], views: ViewGenerator) -> None:
        """Fill the fixed last layer (`twinpurify.rotation`) from this rank's tumor blocks (linear space).

        The sums are merged across ranks and rank 0's layer is broadcast, so every rank ends with the same
        layer. Runs after training (`module_` is already set); if it fails, the fit fails and forgets what it
        fitted (`BaseEmbedder._forget_fit`), so the estimator never looks fitted with an empty last layer.
        """
        if module.output is None:
            return
        ranks = current_ranks()
        dev = module.output.weight.device
        # a stream of its own: not the training stream of this seed nor of any other seed
        seed = None if self.random_state is None else rank_seed(int(self.random_state), ROTATION_STREAM)
        if ranks.active:
            seed = rank_seed(shared_seed(seed, dev), ranks.rank)
        generator = make_generator(dev, seed)
        module.eval()
        with torch.no_grad():  # the embedding of the training mean profile (standardised: 0), the same on every rank
            shift = module.encoder(torch.zeros(1, len(self.preprocessor_.genes_), device=dev)).double().cpu().numpy()
        moments = MixingMoments(module.output.weight.shape[1], shift)  # every member's trained dimensions
        block = max(1, 2 * int(self.batch_size_) // VIEWS_PER_TUMOR)  # as many rows as a training step
        for rows in blocks:
            accumulate(moments, module.encoder, rows, views, generator, block=block)
        if ranks.active:  # the sums over every rank's tumors
            moments.set_flat(sum_arrays_over_ranks(moments.flat(), ranks))
        weight, center = moments.solve(int(self.n_components), blocks=module.n_networks)
        constant = int((np.abs(weight).sum(1) == 0).sum())
        if constant:  # fewer directions than dimensions: nothing can fill the rest
            varying = int(self.n_components) - constant
            bound, why = self._span_limit(moments.n)
            because = f"{why} at most {bound}" + ("" if varying >= bound else "; the trained network uses fewer")
            warn_user(
                f"{constant} of the {self.n_components} embedding columns are constant: the embedding varies "
                f"along {varying} directions across the training tumors ({because}); use n_components <= {varying}",
            )
        module.output.weight.copy_(torch.from_numpy(weight))
        module.output.center.copy_(torch.from_numpy(center))
        unify_replicas(module)  # the layer as rank 0 solved it, not as each rank's LAPACK did

    def _span_limit(self, n_tumors: int) -> tuple[int, str]:
        """The fewest directions the trained embedding can vary along across `n_tumors` tumors, and why.

        The tumors' own span (n - 1), and the encoder's: a last hidden layer of h units gives each network at
        most h directions; a linear encoder (no hidden layer) at most as many as it reads (its fixed first
        layer's directions, or the genes). Names the actual limit in the constant-columns warning.
        """
        limits = [(n_tumors - 1, f"{n_tumors} training tumors span")]
        networks = int(self.n_networks)
        each = f" in each of {networks} networks" if networks > 1 else ""
        if len(self.hidden_dims):
            h = int(list(self.hidden_dims)[-1])
            limits.append((h * networks, f"the encoder's last hidden layer, of {h} units{each} (hidden_dims), allows"))
        elif self._invariant_dims:
            front = "principal components" if self.encoder_input == "pca" else "invariant directions"
            limits.append((self._invariant_dims, f"a linear encoder reading {self._invariant_dims} {front} allows"))
        else:
            g = len(self.preprocessor_.genes_)
            limits.append((g, f"a linear encoder reading {g} genes (n_genes={self.n_genes}) allows"))
        return min(limits)

    _invariant_dims: int = 0

    def _build_with_front(self, n_genes: int, front: Optional[tuple[torch.Tensor, torch.Tensor]]) -> BarlowTwinsModule:
        """The module, its fixed first layer (when `front` is given: `invariance.fixed_front`) loaded.

        Shared by the in-memory and the out-of-core fit.
        """
        self._invariant_dims = front[0].shape[0] if front is not None else 0
        with seeded_rng(self.random_state):  # seeded here too: an out-of-core fit does not pass through _fit_matrices
            module = self._build(n_genes)
        if front is not None:
            first = module.encoder[0]
            assert isinstance(first, FixedLinearInput)
            first.weight.copy_(front[0])
            first.center.copy_(front[1])
        return module

    def _head_dim(self, n_genes: int) -> int:
        """Width of the content head: the target has one value per gene; 0 = no head."""
        with_head = self._restored_head if self._restored_head is not None else float(self.content_weight) > 0
        return n_genes if with_head else 0

    _restored_head: Optional[bool] = None  # set when loading: older model folders have no head

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        if int(self.n_components) < 1:
            raise ValueError(f"n_components must be positive, got {self.n_components}")
        self._restored_head = None
        views = ViewConfig(self.beta_max, int(self.n_mix), self.mask_prob, self.noise_std)
        views.validate()
        dev = self._prepare()
        pp = self.preprocessor_
        assert normal is not None  # needs_normal: the base class refused a fit without normals
        t_log = pp.log_expression(tumor, "tumor")
        n_log = pp.log_expression(normal, "normal")
        train_views = ViewGenerator(
            torch.from_numpy(n_log).to(dev),
            torch.from_numpy(pp.mean_).to(dev),
            torch.from_numpy(pp.std_).to(dev),
            views,
        )
        objective = TwinPurifyObjective(
            train_views,
            lambd=float(self.lambd),
            invariance_weight=float(self.invariance_weight),
            content_weight=float(self.content_weight),
            clean_anchor=bool(self.clean_anchor),
        )
        if self.encoder_input not in ("log", "normal_difference", *FIXED_FRONTS):
            raise ValueError(
                f"encoder_input must be 'log', 'normal_difference', 'invariant' or 'pca', got {self.encoder_input!r}"
            )
        front = None
        if self.encoder_input == "invariant":
            Xs = pp.standardize(t_log).astype(np.float64)
            D = mixing_perturbations(Xs, n_log, pp.mean_, pp.std_, self.beta_max, int(self.n_mix), 4, self.random_state)
            W, ev = invariant_directions(Xs, D, 256, float(self.invariant_shrinkage), 256)
            front = fixed_front(W, ev, Xs.mean(0))
        elif self.encoder_input == "pca":  # summed block by block up to MAX_GRAM_GENES genes: no copy
            front = fixed_front(*principal_directions(t_log, self._width, pp.standardize))
        if front is not None:
            objective.target_fn = _FrontTarget(front, pp.mean_, pp.std_, dev)
        needs_target = (objective.content_weight > 0 and front is None) or self.encoder_input == "normal_difference"
        if needs_target:
            normal_mean = np.exp2(n_log.astype(np.float64)).mean(0)
            scaler = _target_scaler(t_log, normal_mean)
            objective.normal_mean_lin = torch.from_numpy(normal_mean.astype(np.float32)).to(dev)
            objective.target_mean = torch.from_numpy(scaler.mean).to(dev)
            objective.target_std = torch.from_numpy(scaler.std).to(dev)
        t_lin = torch.from_numpy(t_log).to(dev).exp2_()  # in place: no second copy of the training matrix
        del t_log
        module = self._build_with_front(t_lin.shape[1], front).to(dev)
        first = module.encoder[0]
        if self.encoder_input == "normal_difference":
            assert isinstance(first, NormalDifferenceInput)
            assert objective.normal_mean_lin is not None and objective.target_mean is not None
            assert objective.target_std is not None
            first.set_statistics(
                torch.from_numpy(pp.mean_),
                torch.from_numpy(pp.std_),
                objective.normal_mean_lin,
                objective.target_mean,
                objective.target_std,
            )
        self._train(module, t_lin, objective, "TwinPurify")
        ranks = current_ranks()  # each rank embeds every world_size-th tumor (a strided view: no copy)
        self._set_output(module, [t_lin[ranks.rank :: ranks.world_size]], train_views.mixing_only())

    def _restore(self, fitted: dict, arrays: dict[str, np.ndarray]) -> None:
        self._restored_head = any(k.startswith("module.head.") for k in arrays)
        if self.encoder_input in FIXED_FRONTS:
            self._invariant_dims = int(arrays["module.encoder.0.weight"].shape[0])
        super()._restore(fitted, arrays)

    def __sklearn_tags__(self):  # pragma: no cover - sklearn >= 1.6 only
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    def embedding_info(self) -> dict[str, Any]:
        """A short summary of what was fitted (for printing and for the R side)."""
        self._check_fitted()
        return {
            "n_genes": len(self.genes_),
            "n_components": self._n_out(),
            "input_scale": self.preprocessor_.scale_,
            "epochs": self.n_epochs_,
            "batch_size": self.batch_size_,
            "device": self.device_,
            "final_loss": self.history_[-1]["loss"] if self.history_ else None,
        }


def _target_scaler(t_log: np.ndarray, normal_mean_lin: np.ndarray, block: int = 2048) -> TargetScaler:
    """Per-gene mean and sd of the training tumors' purity-free target, one block of rows at a time.

    Streaming (float64 sums) so that no second matrix of the training set's size is ever held.
    """
    g = t_log.shape[1]
    s1, s2 = np.zeros(g), np.zeros(g)
    for i in range(0, len(t_log), block):
        d = normal_difference_np(np.exp2(t_log[i : i + block].astype(np.float64)), normal_mean_lin)
        s1 += d.sum(0)
        s2 += np.einsum("ij,ij->j", d, d)
    n = len(t_log)
    mean = s1 / n
    return TargetScaler(mean, np.sqrt(np.maximum(s2 / n - mean**2, 0.0)).clip(min=1e-12))


class _FrontTarget:
    """Content target with a fixed front (encoder_input 'invariant' or 'pca'): the clean tumor's front coordinates."""

    def __init__(self, front: tuple[torch.Tensor, torch.Tensor], mean: np.ndarray, std: np.ndarray, dev: torch.device):
        self.W, self.center = front[0].to(dev), front[1].to(dev)
        self.mean, self.std = torch.from_numpy(mean).to(dev), torch.from_numpy(std).to(dev)

    def __call__(self, tumor_lin: torch.Tensor) -> torch.Tensor:
        xs = (torch.log2(tumor_lin) - self.mean) / self.std
        return (xs - self.center) @ self.W.T
