# fitTwinPurify() fits; calculateTwinPurify() returns a matrix; runTwinPurify()
# stores it as a reducedDim (scater's pattern).

.progressDefault <- function() getOption("twinpurify.progress", interactive())

#' Fit a TwinPurify model
#'
#' Fits the Barlow Twins engine on the tumor samples of `x` with its normal
#' samples as background, and returns the model, for embedding this or other
#' cohorts with [predict()][predict,TwinPurifyModel-method].
#'
#' @param x a `SummarizedExperiment` or `SingleCellExperiment` (genes x
#'   samples), or a numeric matrix with genes in rows and samples in columns
#'   (named). Integer counts, linear values (TPM) and log values all work (see
#'   `inputScale`). Assays may be base matrices, `dgCMatrix`, `DelayedArray`
#'   (realised block-wise) or data frames of numbers.
#' @param normal which samples are adjacent normals: a logical vector over the
#'   columns of `x`; the name of a `colData` column, or a character/factor
#'   vector over the columns (both compared with `normalValue`); or a second
#'   `SummarizedExperiment` (or matrix) holding only normals (then all of `x`
#'   are tumors; genes are matched by rownames). A vector with names is
#'   matched to the columns by name (its names must be exactly the colnames
#'   of `x`); an unnamed one is taken in the order of the columns.
#' @param normalValue the value of the `normal` column (or labels) that marks
#'   normals. A logical `colData` column or logical vector marks them with
#'   `TRUE` (unless `normalValue` is set to `TRUE` or `FALSE`).
#' @param assay.type the assay to use, by name or index: `"counts"` by
#'   default. Ignored for a matrix.
#' @param ... engine hyper-parameters in camelCase, with the Python engine's
#'   meaning and defaults (see [twinPurifyDefaults()]): `nComponents` (16),
#'   `encoderInput` ("pca": the encoder reads the tumors' top principal
#'   components; "log" for the earlier log-profile input), `dropMixingDims`
#'   (2: the network is trained with `nComponents + dropMixingDims`
#'   dimensions and the ones its cohort's mixing still moves most are
#'   dropped), `nNetworks` (3: networks trained side by side, the last step
#'   solved over all of them; 1 trains a third of the work), `hiddenDims`,
#'   `projectorDims`, `nGenes` (3000 top-variable genes), `inputScale`
#'   ("auto", "counts", "linear", "log2"), `betaMax` (0.9, the largest
#'   normal fraction mixed into a view), `nMix`,
#'   `maskProb`, `noiseStd`, `cleanAnchor`, `lambd`, `lr`, `weightDecay`,
#'   `batchSize`, `maxEpochs` ("auto" or a number), `earlyStopping`,
#'   `patience`, `device` ("auto", "cpu", "cuda"), `bf16`, `fillMissing`
#'   ("error" or "mean"), `checkOrientation`, `randomState` (seed) and
#'   `verbose` (`FALSE` drops the engine's notes and the progress bar).
#' @param progress show a progress bar (on stderr) while training? By default
#'   in interactive sessions (option `twinpurify.progress`).
#' @param assay alias of `assay.type` (older name).
#' @param altexp for a `SingleCellExperiment` `x`: the name or index of an
#'   alternative experiment to take the assay from (`normal` as a `colData`
#'   column or labels is still read from `x`), as in scater's `runPCA()`.
#' @return A [TwinPurifyModel-class] object.
#' @seealso [calculateTwinPurify()], [runTwinPurify()], [saveTwinPurify()].
#' @examples
#' if (twinpurifyAvailable()) {
#'     data(tpToyCohort)
#'     model <- fitTwinPurify(tpToyCohort, normal = "sample_type",
#'         nComponents = 8, maxEpochs = 5, randomState = 1, verbose = FALSE)
#'     model
#'     tumors <- tpToyCohort[, tpToyCohort$sample_type == "tumor"]
#'     dim(predict(model, tumors))
#' }
#' @export
fitTwinPurify <- function(x, normal, normalValue = "normal",
    assay.type = "counts", ..., progress = .progressDefault(), assay = NULL,
    altexp = NULL) {
    assay.type <- .assayAlias(assay.type, assay)
    if (!is.null(altexp)) {
        parts <- .fromAltExp(x, normal, normalValue, altexp)
        x <- parts$x
        normal <- parts$normal
    }
    tumor <- .input(x, assay.type, "x")
    if (.isNormalSet(normal)) {
        nm <- .input(normal, assay.type, "normal")
        .checkCounts(length(nm$samples), length(tumor$samples))
    } else {
        mask <- .normalMask(x, normal, normalValue)
    }
    params <- .engineParams(...)
    bar <- .progressBar(progress && !isFALSE(params$verbose))
    on.exit(bar$close(), add = TRUE)
    b <- .bridge()
    py <- if (.isNormalSet(normal)) {
        .py(b$fit_pair(tumor$values, tumor$samples, tumor$genes, nm$values,
            nm$samples, nm$genes, params, progress = bar$callback,
            warn = .engineCondition))
    } else {
        .py(b$fit(tumor$values, tumor$samples, tumor$genes, mask, params,
            progress = bar$callback, warn = .engineCondition),
            labels = .dataLabels(normalInX = TRUE))
    }
    .newModel(py)
}

#' Tumor-intrinsic embeddings with TwinPurify
#'
#' `calculateTwinPurify()` (and its short form `twinPurify()`) fits the
#' engine on the tumors of `x` (with its normals as background) and returns
#' the tumors' embedding. `runTwinPurify()` stores the embedding of every
#' sample of `x` (normals are embedded by the same model) in
#' `reducedDim(x, name)` of a `SingleCellExperiment` and the fitted model in
#' `metadata(x)[[name]]`; the stored model survives [saveRDS()].
#'
#' @inheritParams fitTwinPurify
#' @param x a numeric matrix (genes in rows, samples in columns, both named),
#'   a `SummarizedExperiment` or a `SingleCellExperiment`.
#' @param altexp for a `SingleCellExperiment`: the name or index of an
#'   alternative experiment to take the assay from (`normal` is still read
#'   from `x`). `runTwinPurify()` stores the embedding in `x` itself.
#' @return `calculateTwinPurify()`/`twinPurify()`: a numeric matrix with one
#'   row per tumor (rownames = the tumor columns of `x`, in order) and one
#'   column per dimension (`TP1`, ...); the fitted [TwinPurifyModel-class] is
#'   attached as attribute `"model"`. `runTwinPurify()`: a
#'   `SingleCellExperiment` (converted from `x` if needed).
#' @seealso [fitTwinPurify()] to fit once and embed other cohorts;
#'   [plotLoss()].
#' @examples
#' if (twinpurifyAvailable()) {
#'     data(tpToyCohort)
#'     se <- tpToyCohort
#'     emb <- twinPurify(se, normal = se$sample_type == "normal",
#'         nComponents = 8, maxEpochs = 5, randomState = 1, verbose = FALSE)
#'     dim(emb)
#'     m <- SummarizedExperiment::assay(se, "counts")
#'     dim(calculateTwinPurify(m, normal = se$sample_type == "normal",
#'         nComponents = 8, maxEpochs = 5, verbose = FALSE))
#'     sce <- runTwinPurify(se, normal = "sample_type", nComponents = 8,
#'         maxEpochs = 5, verbose = FALSE)
#'     SingleCellExperiment::reducedDimNames(sce)
#' }
#' @name calculateTwinPurify
NULL

.calculate <- function(x, normal, normalValue, assay.type, ...) {
    model <- fitTwinPurify(x, normal, normalValue, assay.type = assay.type,
        ...)
    tumors <- if (.isNormalSet(normal)) x else
        x[, !.normalMask(x, normal, normalValue), drop = FALSE]
    z <- predict(model, tumors, assay.type = assay.type)
    attr(z, "model") <- model
    z
}

#' @rdname calculateTwinPurify
#' @export
setMethod("calculateTwinPurify", "ANY", function(x, normal,
    normalValue = "normal", ..., assay.type = "counts", assay = NULL) {
    # a matrix has no assays: assay.type and assay are accepted and ignored
    if (!.isMatrixLike(x)) .checkSE(x, "x")
    .calculate(x, normal, normalValue, "counts", ...)
})

#' @rdname calculateTwinPurify
#' @export
setMethod("calculateTwinPurify", "SummarizedExperiment", function(x, normal,
    normalValue = "normal", ..., assay.type = "counts", assay = NULL) {
    .calculate(x, normal, normalValue, .assayAlias(assay.type, assay), ...)
})

#' @rdname calculateTwinPurify
#' @export
setMethod("calculateTwinPurify", "SingleCellExperiment", function(x, normal,
    normalValue = "normal", ..., assay.type = "counts", assay = NULL,
    altexp = NULL) {
    if (!is.null(altexp)) {
        parts <- .fromAltExp(x, normal, normalValue, altexp)
        x <- parts$x
        normal <- parts$normal
    }
    .calculate(x, normal, normalValue, .assayAlias(assay.type, assay), ...)
})

#' @rdname calculateTwinPurify
#' @export
twinPurify <- function(x, normal, normalValue = "normal", ...) {
    calculateTwinPurify(x, normal, normalValue = normalValue, ...)
}

#' @rdname calculateTwinPurify
#' @param name the `reducedDim` (and `metadata`) name to store results under.
#' @export
runTwinPurify <- function(x, normal, normalValue = "normal",
    assay.type = "counts", ..., name = "TwinPurify", assay = NULL,
    altexp = NULL) {
    .checkStorable(x)
    if (.isNormalSet(normal)) {
        .abort("runTwinPurify() stores results in 'x', so 'normal' must mark ",
            "columns of 'x' (a logical vector or a colData column), not a ",
            "separate object")
    }
    assay.type <- .assayAlias(assay.type, assay)
    # fitted before x becomes a SingleCellExperiment: 'altexp' on a
    # SummarizedExperiment is refused as such
    model <- fitTwinPurify(x, normal, normalValue, assay.type = assay.type,
        ..., altexp = altexp)
    if (!methods::is(x, "SingleCellExperiment")) {
        x <- methods::as(x, "SingleCellExperiment")
    }
    SingleCellExperiment::reducedDim(x, name) <- predict(model, x,
        assay.type = assay.type, altexp = altexp)
    S4Vectors::metadata(x)[[name]] <- model
    x
}

#' A simulated tumor/normal cohort as a SummarizedExperiment
#'
#' The engine's built-in simulated cohort
#' (`twinpurify.datasets.simulate_cohort`): tumors are mixtures, in linear
#' space, of subtype-specific cancer cells, immune cells and the same normal
#' tissue the adjacent normals come from, with negative-binomial counts. For
#' examples, tests and the vignette. A small one ships as [tpToyCohort].
#'
#' @param nTumors,nNormals,nGenes cohort size.
#' @param seed random seed.
#' @param normalLikeness number in \[0, 1\]: strength of a tumor-intrinsic
#'   differentiation axis towards the normal epithelium (subtype-dependent),
#'   so that "tumor minus normal" is not a pure purity axis, as in real
#'   cohorts. 0 (the default) leaves the cohort unchanged; when > 0 each
#'   tumor's position on that axis is the `colData` column `normal_likeness`.
#' @return A `SummarizedExperiment` with a `counts` assay (genes x samples) and
#'   `colData` columns `sample_type` ("tumor"/"normal"), `purity`, `subtype`,
#'   `immune_fraction`, `program_1..3`, `os_time`, `os_event` (NA for
#'   normals); `rowData` column `role` says what each gene follows and
#'   `loading` a program gene's change in log2 expression per unit of its
#'   program (0 for other genes): the true program footprints, usable as a
#'   gene-set net.
#' @examples
#' if (twinpurifyAvailable()) {
#'     simulateTwinPurifyCohort(nTumors = 20, nNormals = 5, nGenes = 60)
#' }
#' @export
simulateTwinPurifyCohort <- function(nTumors = 200, nNormals = 40,
    nGenes = 1000, seed = 0, normalLikeness = 0) {
    .checkFraction(normalLikeness, "normalLikeness")
    sim <- .pyr(.bridge()$simulate(nTumors, nNormals, nGenes, seed,
        normalLikeness))
    counts <- sim$counts
    dimnames(counts) <- list(unlist(sim$genes), unlist(sim$samples))
    nT <- sim$n_tumors
    nN <- ncol(counts) - nT
    cd <- S4Vectors::DataFrame(sample_type = rep(c("tumor", "normal"),
        c(nT, nN)), row.names = colnames(counts))
    for (col in names(sim$truth)) {
        cd[[col]] <- c(as.vector(sim$truth[[col]]), rep(NA, nN))
    }
    cd$subtype <- factor(cd$subtype)
    SummarizedExperiment::SummarizedExperiment(
        assays = list(counts = counts), colData = cd,
        rowData = S4Vectors::DataFrame(role = unlist(sim$role),
            loading = as.vector(sim$loading), row.names = rownames(counts)))
}
