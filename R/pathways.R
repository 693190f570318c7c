# Gene-space results of a fitted model: purified expression, pathway activity
# and the readout behind them (fitReadout).

#' Purified expression and pathway activity of tumors
#'
#' `purifiedExpression()` embeds each sample with the model, then maps the
#' embedding back to the model's genes with the linear readout fitted on the
#' training tumors: the part of each profile that the purified embedding
#' carries, on the model's log2 scale. It is not a deconvolved cancer-cell
#' profile: it keeps what the embedding keeps (tumor programs, immune signal,
#' and any purity the embedding still leaks). With `residual = TRUE` it is
#' instead each sample's own profile with only its coordinates along the
#' contamination directions (the mean normal's difference from the mean
#' tumor and the normals' leading principal directions, from the training
#' normals) replaced by the readout's: it keeps the programs a few embedding
#' dimensions cannot hold (see the package's `benchmarks/pathways.md`: on the
#' simulators its program scores track the true programs as well as raw
#' scores or better, with less purity in most runs, though not on every
#' seed; it still carries most of the purity a raw profile carries).
#' `pathwayActivity()` scores
#' pathways on it (or, with `purified = FALSE`, on the samples' own log2
#' profiles of the same genes) with decoupler's methods, offline.
#'
#' @param model a [TwinPurifyModel-class].
#' @param x a SummarizedExperiment, or a matrix with genes in rows and
#'   samples in columns, on the scale the model was fitted on and carrying
#'   the model's genes.
#' @param geneSets `NULL` (the PROGENy footprints shipped with the engine:
#'   14 pathways, 100 genes each, Apache-2.0), a named list of character
#'   vectors (each name once; the genes are a vector's values, its names are
#'   ignored), a data frame with columns `source`, `target` and optionally
#'   `weight`, or the path of a GMT file.
#' @param method `"ulm"` (univariate linear model, the default), `"wmean"`,
#'   `"zscore"` or `"aucell"` (rank-based).
#' @param minSize pathways with fewer of their genes among the model's genes
#'   are dropped, with a warning naming them.
#' @param purified score the purified expression (`TRUE`) or the samples'
#'   own log2 profiles (`FALSE`, for comparison).
#' @param residual use the residual form of the purified expression (needs a
#'   model fitted with normals, or one given them by [fitReadout()]; with
#'   `pathwayActivity()`, `purified = TRUE`).
#' @param assay.type assay name or index of `x` (default `"counts"`).
#' @param assay alias of `assay.type`.
#' @param fillMissing `NULL` (the model's policy), `"error"` or `"mean"`.
#' @param altexp for a `SingleCellExperiment` `x` whose model was fitted on
#'   an alternative experiment: its name or index. The assay is read from
#'   that experiment; the result keeps the colData of `x`.
#' @return `purifiedExpression()`: a SummarizedExperiment with assay
#'   `purified` (model genes x samples; either form), the colData of `x`
#'   and `residual` in its metadata.
#'   `pathwayActivity()`: a SummarizedExperiment of pathways x samples (assay
#'   `activity`), with the method, whether it was purified and whether the
#'   residual form was used in its
#'   metadata and the genes used per pathway in its rowData (`nGenes`).
#' @examples
#' if (twinpurifyAvailable()) {
#'     se <- simulateTwinPurifyCohort(nTumors = 40, nNormals = 8, nGenes = 200)
#'     model <- fitTwinPurify(se, "sample_type", nComponents = 4,
#'         maxEpochs = 2, verbose = FALSE)
#'     tumors <- se[, se$sample_type == "tumor"]
#'     purifiedExpression(model, tumors)
#'     sets <- split(rownames(se)[1:60], rep(c("setA", "setB", "setC"), 20))
#'     act <- pathwayActivity(model, tumors, sets)
#'     SummarizedExperiment::assay(act)[, 1:3]
#' }
#' @name purifiedExpression
#' @export
purifiedExpression <- function(model, x, assay.type = "counts",
    fillMissing = NULL, assay = NULL, residual = FALSE, altexp = NULL) {
    .checkModel(model)
    .checkFlag(residual, "residual")
    inp <- .input(.assaySource(x, altexp), .assayAlias(assay.type, assay), "x")
    res <- .pyr(.bridge()$purified(.enginePy(model), inp$values, inp$samples,
        inp$genes, fillMissing, warn = .engineCondition, residual = residual))
    values <- t(res$values)
    dimnames(values) <- list(as.character(unlist(res$genes)), inp$samples)
    SummarizedExperiment::SummarizedExperiment(
        assays = list(purified = values), colData = .sampleData(x),
        metadata = list(twinpurify = "purified expression (log2)",
            residual = residual))
}

#' @rdname purifiedExpression
#' @export
pathwayActivity <- function(model, x, geneSets = NULL,
    method = c("ulm", "wmean", "zscore", "aucell"), minSize = 5,
    purified = TRUE, assay.type = "counts", fillMissing = NULL,
    assay = NULL, residual = FALSE, altexp = NULL) {
    .checkModel(model)
    method <- match.arg(method)
    geneSets <- .checkGeneSets(geneSets)
    .checkMinSize(minSize)
    .checkResidual(residual, purified)
    inp <- .input(.assaySource(x, altexp), .assayAlias(assay.type, assay), "x")
    res <- .pyr(.bridge()$pathway_activity(.enginePy(model), inp$values,
        inp$samples, inp$genes, geneSets, method, minSize, purified,
        fillMissing, warn = .engineCondition, residual = residual))
    pathways <- as.character(unlist(res$pathways))
    values <- t(matrix(res$values, ncol = length(pathways)))
    dimnames(values) <- list(pathways, inp$samples)
    SummarizedExperiment::SummarizedExperiment(
        assays = list(activity = values), colData = .sampleData(x),
        rowData = S4Vectors::DataFrame(nGenes = as.integer(unlist(res$n_genes)),
            row.names = pathways),
        metadata = list(method = method, purified = purified,
            residual = residual, minSize = minSize))
}

# The object whose assay is read: `x`, or its alternative experiment `altexp`.
.assaySource <- function(x, altexp, what = "x") {
    if (is.null(altexp)) x else .altExpOf(x, altexp, what)
}

# colData of a SummarizedExperiment, or an empty one named by the columns.
.sampleData <- function(x) {
    if (methods::is(x, "SummarizedExperiment")) {
        return(SummarizedExperiment::colData(x))
    }
    S4Vectors::DataFrame(row.names = colnames(x))
}

#' Refit the gene-space readout of a TwinPurify model
#'
#' [purifiedExpression()] maps embeddings back to genes with a linear readout
#' fitted on the training tumors, and its residual form needs the
#' contamination directions set from the training normals. Models saved by
#' twinpurify 0.1.0, fitted out of core by an earlier version, or saved
#' before the residual form existed lack one or the other; `fitReadout()`
#' adds them without refitting the embedding, from a cohort's tumors and
#' normals. It also re-anchors the readout on another cohort.
#'
#' @inheritParams fitTwinPurify
#' @inheritParams purifiedExpression
#' @param x a SummarizedExperiment, or a matrix with genes in rows and
#'   samples in columns, on the scale the model was fitted on and carrying
#'   the model's genes: the tumors, or tumors and normals marked by `normal`.
#' @param normal the normals, as for [fitTwinPurify()] (a colData column of
#'   `x`, a logical or character vector over its samples, matched by name
#'   when it has names, or a separate
#'   SummarizedExperiment or matrix), or `NULL`: a readout without
#'   contamination directions (the residual form stays unavailable).
#'   Normals missing some of the model's genes with `fillMissing = "mean"`
#'   get the training mean there, and the residual form leaves those genes'
#'   contamination in place (a warning says how many).
#' @param altexp for a `SingleCellExperiment` `x` whose model was fitted on
#'   an alternative experiment (`calculateTwinPurify(altexp = )`), its name
#'   or index: the readout is fitted on that experiment's genes, and `normal`
#'   as a colData column or labels refers to `x`'s columns.
#' @return A new [TwinPurifyModel-class] with the same embedding and the
#'   refitted readout; `model` itself is unchanged.
#' @seealso [purifiedExpression()] and [pathwayActivity()], which use the
#'   readout; [fitTwinPurify()], [loadTwinPurify()].
#' @examples
#' if (twinpurifyAvailable()) {
#'     se <- simulateTwinPurifyCohort(nTumors = 40, nNormals = 8, nGenes = 200)
#'     model <- fitTwinPurify(se, "sample_type", nComponents = 4,
#'         maxEpochs = 2, verbose = FALSE)
#'     # the readout re-anchored on another cohort; `model` is unchanged
#'     other <- simulateTwinPurifyCohort(nTumors = 30, nNormals = 6,
#'         nGenes = 200, seed = 2)
#'     anchored <- fitReadout(model, other, "sample_type")
#'     tumors <- other[, other$sample_type == "tumor"]
#'     dim(purifiedExpression(anchored, tumors, residual = TRUE))
#' }
#' @export
fitReadout <- function(model, x, normal = NULL, normalValue = "normal",
    assay.type = "counts", fillMissing = NULL, assay = NULL, altexp = NULL) {
    .checkModel(model)
    assay.type <- .assayAlias(assay.type, assay)
    if (!.isMatrixLike(x)) .checkSE(x, "x")
    if (!is.null(altexp)) {
        parts <- .fromAltExp(x, normal, normalValue, altexp,
            checkCounts = .checkReadoutCounts)
        x <- parts$x
        normal <- parts$normal
    }
    nm <- NULL
    if (is.null(normal)) {
        tumor <- .input(x, assay.type, "x")
        .checkReadoutCounts(0, length(tumor$samples))
    } else if (.isNormalSet(normal)) {
        tumor <- .input(x, assay.type, "x")
        nm <- .input(normal, assay.type, "normal")
        .checkReadoutCounts(length(nm$samples), length(tumor$samples))
        # a sample in both sets is refused by the engine, by its profile
        # (names alone may repeat: patient-named pairs)
    } else {
        mask <- .normalMask(x, normal, normalValue,
            checkCounts = .checkReadoutCounts)
        tumor <- .input(x[, !mask, drop = FALSE], assay.type, "x")
        nm <- .input(x[, mask, drop = FALSE], assay.type, "x")
    }
    py <- .py(.bridge()$fit_readout(.pyFiles(model@files), tumor$values,
        tumor$samples, tumor$genes, nm$values, nm$samples, nm$genes,
        fillMissing, warn = .engineCondition),
        labels = .dataLabels(normalInX = !is.null(normal) &&
            !.isNormalSet(normal)))
    .newModel(py)
}
