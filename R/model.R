# The fitted model as an S4 object, its persistence, and prediction on other
# cohorts.

#' A fitted TwinPurify model
#'
#' Holds the saved engine model (the bytes of its `config.json` and
#' `weights.safetensors`, so the object survives [saveRDS()] and a new R
#' session) together with what R users need to see: the genes it uses, the
#' hyper-parameters and the training loss. The live Python object is built
#' from those bytes when first needed and cached. Create one with
#' [fitTwinPurify()] or [loadTwinPurify()]; embed samples with
#' [predict()][predict,TwinPurifyModel-method]; read it with the accessors
#' ([twinPurifyGenes()], [lossHistory()], [twinPurifyParams()]).
#'
#' @slot files list of raw vectors: the saved model folder's files by name.
#' @slot genes character, the genes the model uses, in order.
#' @slot info list: number of genes and components, input scale, epochs,
#'   batch size, device, final loss, loss history and all parameters.
#' @slot cache environment holding the live Python object (not saved).
#' @return `show()` prints a summary and returns `NULL` invisibly.
#' @exportClass TwinPurifyModel
setClass("TwinPurifyModel", representation(files = "list",
    genes = "character", info = "list", cache = "environment"))

setValidity("TwinPurifyModel", function(object) {
    problems <- character()
    f <- object@files
    need <- c("config.json", "weights.safetensors")
    if (!all(need %in% names(f))) {
        problems <- c(problems, paste0("'files' must hold ",
            paste(need, collapse = " and ")))
    } else if (!all(vapply(f, function(v) is.raw(v) && length(v) > 0,
        logical(1)))) {
        problems <- c(problems, "'files' must be non-empty raw vectors")
    }
    g <- object@genes
    if (length(g) == 0 || anyNA(g) || anyDuplicated(g)) {
        problems <- c(problems, "'genes' must be unique, non-NA gene names")
    }
    nc <- object@info$n_components
    if (!is.numeric(nc) || length(nc) != 1 || nc < 1) {
        problems <- c(problems, "'info' must give n_components")
    }
    h <- object@info$history
    if (!is.null(h) && length(unique(lengths(h))) > 1) {
        problems <- c(problems, "'info$history' columns differ in length")
    }
    if (length(problems)) problems else TRUE
})

.newModel <- function(py) {
    b <- .bridge()
    info <- .pyr(b$info(py))
    files <- lapply(.pyr(b$model_files(py)), as.raw)
    cache <- new.env(parent = emptyenv())
    cache$py <- py
    methods::new("TwinPurifyModel", files = files,
        genes = as.character(reticulate::py_to_r(py$genes_)), info = info,
        cache = cache)
}

# The live Python model: the cached one, or rebuilt from the saved bytes
# (after readRDS() in a new session the cached pointer is invalid). The
# load's warnings (a model fitted on a GPU this machine lacks) are R warnings.
.enginePy <- function(object) {
    cache <- object@cache
    py <- cache$py
    if (is.null(py) || reticulate::py_is_null_xptr(py)) {
        py <- .py(.bridge()$model_from_files(.pyFiles(object@files),
            warn = .engineCondition))
        cache$py <- py
    }
    py
}

# A model's saved files as the Python dict the bridge rebuilds models from.
.pyFiles <- function(files) {
    reticulate::dict(lapply(files, reticulate::r_to_py))
}

#' Read a fitted TwinPurify model
#'
#' @param object a [TwinPurifyModel-class].
#' @return `twinPurifyGenes()`: the genes the model uses, in order.
#'   `lossHistory()`: a data frame with one row per training epoch (`epoch`,
#'   `loss`, `lr`, the learning rate of the epoch's first step).
#'   `twinPurifyParams()`: the hyper-parameters, a named list in the R
#'   interface's camelCase. `twinPurifyEngine()`: the live Python object
#'   (reticulate), rebuilt from the saved bytes when needed.
#' @seealso [plotLoss()].
#' @examples
#' if (twinpurifyAvailable()) {
#'     data(tpToyCohort)
#'     model <- fitTwinPurify(tpToyCohort, "sample_type", nComponents = 4,
#'         maxEpochs = 3, verbose = FALSE)
#'     head(twinPurifyGenes(model))
#'     lossHistory(model)
#'     twinPurifyParams(model)$nComponents
#' }
#' @name TwinPurifyModel-accessors
NULL

#' @rdname TwinPurifyModel-accessors
#' @export
setMethod("twinPurifyGenes", "TwinPurifyModel", function(object) {
    object@genes
})

#' @rdname TwinPurifyModel-accessors
#' @export
setMethod("lossHistory", "TwinPurifyModel", function(object) {
    h <- object@info$history
    data.frame(epoch = as.integer(unlist(h$epoch)),
        loss = as.numeric(unlist(h$loss)), lr = as.numeric(unlist(h$lr)))
})

#' @rdname TwinPurifyModel-accessors
#' @export
setMethod("twinPurifyParams", "TwinPurifyModel", function(object) {
    p <- object@info$params
    names(p) <- .camel(names(p))
    p
})

#' @rdname TwinPurifyModel-accessors
#' @export
setMethod("twinPurifyEngine", "TwinPurifyModel", function(object) {
    .enginePy(object)
})

#' @param object a `TwinPurifyModel`.
#' @rdname TwinPurifyModel-class
#' @export
setMethod("show", "TwinPurifyModel", function(object) {
    i <- object@info
    cat("TwinPurifyModel: ", i$n_components, " dimensions from ",
        length(object@genes), " genes (", i$input_scale, " input)\n",
        "  trained ", i$epochs, " epochs, batch size ", i$batch_size, " on ",
        i$device, "; final loss ", signif(i$final_loss, 4), "\n",
        "  genes: ", .preview(object@genes, 4), "\n", sep = "")
    invisible(NULL)
})

#' Plot a TwinPurify model's training loss
#'
#' @param x a [TwinPurifyModel-class], or a `SummarizedExperiment` holding
#'   one in `metadata(x)[[name]]` (as [runTwinPurify()] stores it).
#' @param name the `metadata` name, when `x` is not a model.
#' @param ... further arguments to [graphics::plot()].
#' @return The loss history (see [lossHistory()]), invisibly.
#' @examples
#' if (twinpurifyAvailable()) {
#'     data(tpToyCohort)
#'     sce <- runTwinPurify(tpToyCohort, "sample_type", nComponents = 4,
#'         maxEpochs = 5, verbose = FALSE)
#'     plotLoss(sce)
#' }
#' @export
plotLoss <- function(x, name = "TwinPurify", ...) {
    model <- .modelFrom(x, name)
    h <- lossHistory(model)
    if (nrow(h) == 0) .abort("the model has no loss history to plot")
    graphics::plot(h$epoch, h$loss, type = "b", pch = 16, cex = 0.6,
        xlab = "epoch", ylab = "Barlow Twins loss", ...)
    invisible(h)
}

.modelFrom <- function(x, name) {
    if (methods::is(x, "TwinPurifyModel")) return(x)
    if (methods::is(x, "SummarizedExperiment")) {
        m <- S4Vectors::metadata(x)[[name]]
        if (methods::is(m, "TwinPurifyModel")) return(m)
        .abort("metadata(x)$", name, " holds no TwinPurifyModel; run ",
            "runTwinPurify() first or pass the model")
    }
    .abort("'x' must be a TwinPurifyModel or a SummarizedExperiment, not ",
        "a ", class(x)[1])
}

#' Embed samples with a fitted TwinPurify model
#'
#' @param object a [TwinPurifyModel-class].
#' @param newdata a `SummarizedExperiment` (or a numeric matrix, genes in
#'   rows) with (at least) the model's genes as rownames; other genes are
#'   ignored and order does not matter. Missing genes are an error naming
#'   them, unless `fillMissing = "mean"` (here or at fit). Counts are
#'   normalised by each sample's total over every gene the model was fitted
#'   on, not only its selected genes (`twinPurifyGenes()`): give them all,
#'   as measured.
#' @param assay.type the assay to use, by name or index (`"counts"` by
#'   default); ignored for a matrix.
#' @param fillMissing `NULL` (the model's policy), `"error"` or `"mean"`:
#'   `"mean"` fills genes missing from `newdata` with the training mean (of
#'   log2 values; counts of the genes present are then per million of their
#'   own total).
#' @param ... nothing: any other argument is an error naming it (a misspelt
#'   `assay.type` or `fillMissing` would otherwise be ignored).
#' @param assay alias of `assay.type` (older name).
#' @param altexp for a `SingleCellExperiment` `newdata` whose model was
#'   fitted on an alternative experiment: its name or index; the assay is
#'   read from that experiment.
#' @return A numeric matrix, one row per column of `newdata` (rownames = its
#'   colnames), one column per dimension (`TP1`, `TP2`, ...).
#' @export
setMethod("predict", "TwinPurifyModel", function(object, newdata,
    assay.type = "counts", fillMissing = NULL, ..., assay = NULL,
    altexp = NULL) {
    .checkNoDots("predict", c("newdata", "assay.type", "fillMissing",
        "assay", "altexp"), ...)
    inp <- .input(.assaySource(newdata, altexp, "newdata"),
        .assayAlias(assay.type, assay), "newdata")
    z <- .pyr(.bridge()$embed(.enginePy(object), inp$values, inp$samples,
        inp$genes, fillMissing, warn = .engineCondition),
        labels = .dataLabels("newdata"))
    dimnames(z) <- list(inp$samples, paste0("TP", seq_len(ncol(z))))
    z
})

#' Save and load TwinPurify models
#'
#' Models are folders holding `config.json` and `weights.safetensors`, the
#' same format as Python's `TwinPurify.save()`, so a model saved in R loads in
#' Python with `TwinPurify.load(path)` and the reverse. The folder is written
#' to a temporary name and renamed into place, so a failed save never
#' destroys an existing model. (A `TwinPurifyModel` also survives
#' [saveRDS()]/[readRDS()] as it is.)
#'
#' @param model a [TwinPurifyModel-class].
#' @param path folder to write or read.
#' @param overwrite replace an existing folder?
#' @return `saveTwinPurify()` returns `path` invisibly; `loadTwinPurify()` a
#'   [TwinPurifyModel-class].
#' @examples
#' if (twinpurifyAvailable()) {
#'     data(tpToyCohort)
#'     model <- fitTwinPurify(tpToyCohort, "sample_type", nComponents = 4,
#'         maxEpochs = 2, verbose = FALSE)
#'     path <- file.path(tempdir(), "tp-model")
#'     saveTwinPurify(model, path, overwrite = TRUE)
#'     same <- loadTwinPurify(path)
#'     all.equal(predict(model, tpToyCohort), predict(same, tpToyCohort))
#' }
#' @export
saveTwinPurify <- function(model, path, overwrite = FALSE) {
    .checkModel(model)
    if (file.exists(path) && !isTRUE(overwrite)) {
        .abort(path, " exists; pass overwrite = TRUE to replace it")
    }
    .py(.enginePy(model)$save(path.expand(path),
        overwrite = isTRUE(overwrite)))
    invisible(path)
}

#' @rdname saveTwinPurify
#' @param device where to put the loaded model ("cpu", "cuda", "auto"); the
#'   saved device by default.
#' @export
loadTwinPurify <- function(path, device = NULL) {
    if (!dir.exists(path)) .abort("no model folder at ", path)
    # through the bridge, so the load's warnings are R warnings
    py <- .py(.bridge()$load(path.expand(path), device = device,
        warn = .engineCondition))
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
    if (is.null(.tp_state$defaults)) {
        .tp_state$defaults <- .pyr(.bridge()$defaults())
    }
    .tp_state$defaults
}
