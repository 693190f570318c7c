# The fitted model as an S4 object, its persistence, and prediction on other cohorts.

#' A fitted TwinPurify model
#'
#' Holds the Python engine object together with what R users need to see:
#' the genes it uses and the hyper-parameters it was fitted with. Create one
#' with [fitTwinPurify()] or [loadTwinPurify()]; embed samples with
#' [predict()][predict,TwinPurifyModel-method].
#'
#' @slot py the Python `twinpurify.TwinPurify` object (reticulate reference).
#' @slot genes character, the genes the model uses, in order.
#' @slot info list: number of genes and components, input scale, epochs,
#'   batch size, device, final loss and all parameters.
#' @exportClass TwinPurifyModel
setClass("TwinPurifyModel", representation(py = "ANY", genes = "character", info = "list"))

.newModel <- function(py) {
    info <- .pyr((.bridge()$info(py)))
    methods::new("TwinPurifyModel", py = py, genes = as.character(reticulate::py_to_r(py$genes_)), info = info)
}

#' @param object a `TwinPurifyModel`.
#' @rdname TwinPurifyModel-class
#' @export
setMethod("show", "TwinPurifyModel", function(object) {
    i <- object@info
    cat("TwinPurifyModel: ", i$n_components, " dimensions from ", length(object@genes), " genes (",
        i$input_scale, " input)\n", "  trained ", i$epochs, " epochs, batch size ", i$batch_size,
        " on ", i$device, "; final loss ", signif(i$final_loss, 4), "\n",
        "  genes: ", .preview(object@genes, 4), "\n", sep = "")
})

#' Fit a TwinPurify model
#'
#' Fits the Barlow Twins engine on the tumor samples of `x` with its normal
#' samples as background, and returns the model, for embedding this or other
#' cohorts with [predict()][predict,TwinPurifyModel-method].
#'
#' @param x a `SummarizedExperiment` (genes x samples). Integer counts, linear
#'   values (TPM) and log values all work (see `inputScale`). Assays may be
#'   base matrices, `dgCMatrix`, `DelayedArray` (realised block-wise) or data
#'   frames of numbers.
#' @param normal which samples are adjacent normals: a logical vector over the
#'   columns of `x`; the name of a `colData` column, or a character/factor
#'   vector over the columns (both compared with `normalValue`); or a second
#'   `SummarizedExperiment` holding only normals (then all of `x` are tumors;
#'   genes are matched by rownames).
#' @param normalValue the value of the `normal` column that marks normals.
#' @param assay assay name or index (default: the first assay).
#' @param ... engine hyper-parameters in camelCase, with the Python engine's
#'   meaning and defaults (see [twinPurifyDefaults()]): `nComponents` (128),
#'   `hiddenDims`, `projectorDims`, `nGenes` (3000 top-variable genes),
#'   `inputScale` ("auto", "counts", "linear", "log2"), `betaMax`, `nMix`,
#'   `maskProb`, `noiseStd`, `cleanAnchor`, `lambd`, `lr`, `weightDecay`,
#'   `batchSize`, `maxEpochs` ("auto" or a number), `earlyStopping`,
#'   `patience`, `device` ("auto", "cpu", "cuda"), `bf16`, `fillMissing`
#'   ("error" or "mean"), `checkOrientation`, `randomState` (seed) and
#'   `verbose`.
#' @return A [TwinPurifyModel-class] object.
#' @seealso [calculateTwinPurify()], [runTwinPurify()], [saveTwinPurify()].
#' @examples
#' if (twinpurifyAvailable()) {
#'     se <- simulateTwinPurifyCohort(nTumors = 40, nNormals = 8, nGenes = 100)
#'     model <- fitTwinPurify(se, normal = "sample_type", nComponents = 8,
#'                            maxEpochs = 5, randomState = 1, verbose = FALSE)
#'     model
#'     emb <- predict(model, se[, se$sample_type == "tumor"])
#'     dim(emb)
#' }
#' @export
fitTwinPurify <- function(x, normal, normalValue = "normal", assay = NULL, ...) {
    params <- .engineParams(...)
    .checkSE(x, "x")
    if (methods::is(normal, "SummarizedExperiment")) {
        .checkSE(normal, "normal")
        tm <- .assayMatrix(x, assay, "x")
        nm <- .assayMatrix(normal, assay, "normal")
        if (ncol(normal) < 2) .abort("need at least 2 normal samples to mix views from, got ", ncol(normal))
        py <- .py(.bridge()$fit_pair(tm, colnames(x), rownames(x), nm, colnames(normal), rownames(normal), params))
    } else {
        mask <- .normalMask(x, normal, normalValue)
        m <- .assayMatrix(x, assay, "x")
        py <- .py(.bridge()$fit(m, colnames(x), rownames(x), mask, params))
    }
    .newModel(py)
}

#' Embed samples with a fitted TwinPurify model
#'
#' @param object a [TwinPurifyModel-class].
#' @param newdata a `SummarizedExperiment` with (at least) the model's genes as
#'   rownames; other genes are ignored and order does not matter. Missing genes
#'   are an error naming them, unless `fillMissing = "mean"` (here or at fit).
#' @param assay assay name or index (default: the first).
#' @param fillMissing `NULL` (the model's policy), `"error"` or `"mean"`:
#'   `"mean"` fills genes missing from `newdata` with the training mean.
#' @param ... unused.
#' @return A numeric matrix, one row per column of `newdata` (rownames = its
#'   colnames), one column per dimension (`TP1`, `TP2`, ...).
#' @export
setMethod("predict", "TwinPurifyModel", function(object, newdata, assay = NULL, fillMissing = NULL, ...) {
    .checkSE(newdata, "newdata")
    m <- .assayMatrix(newdata, assay, "newdata")
    z <- .pyr((.bridge()$embed(object@py, m, colnames(newdata), rownames(newdata), fillMissing)))
    dimnames(z) <- list(colnames(newdata), paste0("TP", seq_len(ncol(z))))
    z
})

#' Save and load TwinPurify models
#'
#' Models are folders holding `config.json` and `weights.safetensors`, the
#' same format as Python's `TwinPurify.save()`, so a model saved in R loads in
#' Python with `TwinPurify.load(path)` and the reverse. The folder is written
#' to a temporary name and renamed into place, so a failed save never
#' destroys an existing model.
#'
#' @param model a [TwinPurifyModel-class].
#' @param path folder to write or read.
#' @param overwrite replace an existing folder?
#' @return `saveTwinPurify()` returns `path` invisibly; `loadTwinPurify()` a
#'   [TwinPurifyModel-class].
#' @examples
#' if (twinpurifyAvailable()) {
#'     se <- simulateTwinPurifyCohort(nTumors = 40, nNormals = 8, nGenes = 100)
#'     model <- fitTwinPurify(se, "sample_type", nComponents = 4, maxEpochs = 2, verbose = FALSE)
#'     path <- file.path(tempdir(), "tp-model")
#'     saveTwinPurify(model, path, overwrite = TRUE)
#'     same <- loadTwinPurify(path)
#'     all.equal(predict(model, se), predict(same, se))
#' }
#' @export
saveTwinPurify <- function(model, path, overwrite = FALSE) {
    if (!methods::is(model, "TwinPurifyModel")) .abort("'model' must be a TwinPurifyModel, not a ", class(model)[1])
    if (file.exists(path) && !isTRUE(overwrite)) .abort(path, " exists; pass overwrite = TRUE to replace it")
    .py(model@py$save(path.expand(path), overwrite = isTRUE(overwrite)))
    invisible(path)
}

#' @rdname saveTwinPurify
#' @param device where to put the loaded model ("cpu", "cuda", "auto"); the
#'   saved device by default.
#' @export
loadTwinPurify <- function(path, device = NULL) {
    if (!dir.exists(path)) .abort("no model folder at ", path)
    py <- .py(.tpModule()$TwinPurify$load(path.expand(path), device = device))
    .newModel(py)
}

#' Engine hyper-parameters and their defaults
#'
#' @return A named list (engine snake_case names) of the Python engine's
#'   defaults; pass any of them to [twinPurify()] and friends in camelCase.
#' @examples
#' if (twinpurifyAvailable()) str(twinPurifyDefaults())
#' @export
twinPurifyDefaults <- function() {
    if (is.null(.tp_state$defaults)) .tp_state$defaults <- .pyr((.bridge()$defaults()))
    .tp_state$defaults
}
