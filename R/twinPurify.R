# calculateTwinPurify() returns a matrix; runTwinPurify() stores it as a reducedDim (scater's pattern).

#' Tumor-intrinsic embeddings with TwinPurify
#'
#' `twinPurify()` and `calculateTwinPurify()` fit the engine on the tumors of
#' `x` (with its normals as background) and return the tumors' embedding.
#' `runTwinPurify()` stores the embedding of every sample of `x` (normals are
#' embedded by the same model) in `reducedDim(x, name)` of a
#' `SingleCellExperiment` and the fitted model in `metadata(x)[[name]]`.
#'
#' @inheritParams fitTwinPurify
#' @param x a `SummarizedExperiment` or `SingleCellExperiment` (genes x samples).
#' @return `twinPurify()`/`calculateTwinPurify()`: a numeric matrix with one
#'   row per tumor (rownames = the tumor columns of `x`, in order) and one
#'   column per dimension (`TP1`, ...); the fitted [TwinPurifyModel-class] is
#'   attached as attribute `"model"`. `runTwinPurify()`: a
#'   `SingleCellExperiment` (converted from `x` if needed).
#' @seealso [fitTwinPurify()] to fit once and embed other cohorts.
#' @examples
#' if (twinpurifyAvailable()) {
#'     se <- simulateTwinPurifyCohort(nTumors = 40, nNormals = 8, nGenes = 100)
#'     emb <- twinPurify(se, normal = se$sample_type == "normal",
#'                       nComponents = 8, maxEpochs = 5, randomState = 1, verbose = FALSE)
#'     dim(emb)
#'     sce <- runTwinPurify(se, normal = "sample_type", nComponents = 8,
#'                          maxEpochs = 5, verbose = FALSE)
#'     SingleCellExperiment::reducedDimNames(sce)
#' }
#' @export
calculateTwinPurify <- function(x, normal, normalValue = "normal", assay = NULL, ...) {
    model <- fitTwinPurify(x, normal, normalValue, assay, ...)
    tumors <- if (methods::is(normal, "SummarizedExperiment")) x else x[, !.normalMask(x, normal, normalValue)]
    z <- predict(model, tumors, assay = assay)
    attr(z, "model") <- model
    z
}

#' @rdname calculateTwinPurify
#' @export
twinPurify <- function(x, normal, normalValue = "normal", assay = NULL, ...) {
    calculateTwinPurify(x, normal, normalValue, assay, ...)
}

#' @rdname calculateTwinPurify
#' @param name the `reducedDim` (and `metadata`) name to store results under.
#' @export
runTwinPurify <- function(x, normal, normalValue = "normal", assay = NULL, ..., name = "TwinPurify") {
    .checkSE(x, "x")
    if (methods::is(normal, "SummarizedExperiment")) {
        .abort("runTwinPurify() stores results in 'x', so 'normal' must mark columns of 'x' ",
               "(a logical vector or a colData column), not a separate object")
    }
    if (!methods::is(x, "SingleCellExperiment")) x <- methods::as(x, "SingleCellExperiment")
    model <- fitTwinPurify(x, normal, normalValue, assay, ...)
    SingleCellExperiment::reducedDim(x, name) <- predict(model, x, assay = assay)
    S4Vectors::metadata(x)[[name]] <- model
    x
}

#' A simulated tumor/normal cohort as a SummarizedExperiment
#'
#' The engine's built-in simulated cohort (`twinpurify.datasets.simulate_cohort`):
#' tumors are mixtures, in linear space, of subtype-specific cancer cells,
#' immune cells and the same normal tissue the adjacent normals come from,
#' with negative-binomial counts. For examples, tests and the vignette.
#'
#' @param nTumors,nNormals,nGenes cohort size.
#' @param seed random seed.
#' @return A `SummarizedExperiment` with a `counts` assay (genes x samples) and
#'   `colData` columns `sample_type` ("tumor"/"normal"), `purity`, `subtype`,
#'   `immune_fraction`, `program_1..3`, `os_time`, `os_event` (NA for normals);
#'   `rowData` column `role` says what each gene follows and `loading` a
#'   program gene's change in log2 expression per unit of its program (0 for
#'   other genes): the true program footprints, usable as a gene-set net.
#' @examples
#' if (twinpurifyAvailable()) simulateTwinPurifyCohort(nTumors = 20, nNormals = 5, nGenes = 60)
#' @export
simulateTwinPurifyCohort <- function(nTumors = 200, nNormals = 40, nGenes = 1000, seed = 0) {
    sim <- .pyr((.bridge()$simulate(nTumors, nNormals, nGenes, seed)))
    counts <- sim$counts
    dimnames(counts) <- list(unlist(sim$genes), unlist(sim$samples))
    nT <- sim$n_tumors
    nN <- ncol(counts) - nT
    cd <- S4Vectors::DataFrame(sample_type = rep(c("tumor", "normal"), c(nT, nN)), row.names = colnames(counts))
    for (col in names(sim$truth)) {
        cd[[col]] <- c(as.vector(sim$truth[[col]]), rep(NA, nN))
    }
    cd$subtype <- factor(cd$subtype)
    SummarizedExperiment::SummarizedExperiment(
        assays = list(counts = counts), colData = cd,
        rowData = S4Vectors::DataFrame(role = unlist(sim$role), loading = as.vector(sim$loading),
                                       row.names = rownames(counts)))
}
