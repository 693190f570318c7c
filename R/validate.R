# Input checks: every message names the argument and the offending samples or genes.

.preview <- function(x, n = 5) {
    x <- as.character(x)
    more <- if (length(x) > n) sprintf(" and %d more", length(x) - n) else ""
    paste0(paste(utils::head(x, n), collapse = ", "), more)
}

.abort <- function(...) {
    stop(structure(class = c("twinpurify_error", "error", "condition"),
                   list(message = paste0("twinpurify: ", ...), call = NULL)))
}

.checkSE <- function(x, what = "x") {
    if (!methods::is(x, "SummarizedExperiment")) {
        .abort("'", what, "' must be a SummarizedExperiment (or SingleCellExperiment), not a ",
               class(x)[1], "; build one with SummarizedExperiment(assays = list(counts = m), colData = ...)")
    }
    if (ncol(x) == 0 || nrow(x) == 0) .abort("'", what, "' is empty (", nrow(x), " genes x ", ncol(x), " samples)")
    rn <- rownames(x)
    if (is.null(rn)) .abort("'", what, "' has no rownames: genes must be named to match models across cohorts")
    if (anyNA(rn) || any(rn == "")) .abort("'", what, "' has missing (NA or empty) rownames")
    if (anyDuplicated(rn)) .abort("'", what, "' has duplicated rownames (genes): ", .preview(unique(rn[duplicated(rn)])))
    cn <- colnames(x)
    if (is.null(cn)) .abort("'", what, "' has no colnames: samples must be named")
    if (anyNA(cn) || any(cn == "")) .abort("'", what, "' has missing (NA or empty) colnames")
    if (anyDuplicated(cn)) .abort("'", what, "' has duplicated colnames (samples): ", .preview(unique(cn[duplicated(cn)])))
    invisible(x)
}

.pickAssay <- function(x, assay, what = "x") {
    names <- SummarizedExperiment::assayNames(x)
    if (length(SummarizedExperiment::assays(x)) == 0) .abort("'", what, "' has no assays")
    if (is.null(assay)) return(1L)
    if (is.character(assay)) {
        if (!assay %in% names) {
            .abort("assay '", assay, "' not found in '", what, "'; available: ",
                   if (length(names)) paste(names, collapse = ", ") else "(unnamed assays)")
        }
    } else if (!is.numeric(assay) || assay < 1 || assay > length(SummarizedExperiment::assays(x))) {
        .abort("'assay' must be an assay name or index of '", what, "'")
    }
    assay
}

# The assay as something Python can take: a base numeric matrix (genes x samples) or a dgCMatrix.
# DelayedArray assays are realised a block of columns at a time into the result.
.assayMatrix <- function(x, assay = NULL, what = "x") {
    a <- SummarizedExperiment::assay(x, .pickAssay(x, assay, what), withDimnames = FALSE)
    label <- if (is.null(assay)) "1 (the first)" else assay
    if (is.data.frame(a)) {
        bad <- names(a)[!vapply(a, is.numeric, logical(1))]
        if (length(bad)) .abort("assay ", label, " of '", what, "' has non-numeric columns: ", .preview(bad))
        a <- as.matrix(a)
    }
    if (methods::is(a, "DelayedArray")) {
        a <- .realiseBlockwise(a)
    }
    if (methods::is(a, "dgCMatrix")) {
        vals <- a@x
    } else if (methods::is(a, "Matrix")) {
        a <- as.matrix(a)
        vals <- a
    } else {
        if (!is.matrix(a)) a <- as.matrix(a)
        vals <- a
    }
    if (!is.numeric(vals)) {
        .abort("assay ", label, " of '", what, "' is not numeric (", class(vals)[1], ")")
    }
    if (anyNA(vals)) {
        where <- which(is.na(as.matrix(a)), arr.ind = TRUE)
        .abort("assay ", label, " of '", what, "' has ", nrow(where), " NA values, in samples ",
               .preview(unique(colnames(x)[where[, 2]])), " and genes ", .preview(unique(rownames(x)[where[, 1]])),
               "; impute them or drop those genes first")
    }
    if (is.integer(a)) storage.mode(a) <- "double"
    a
}

.realiseBlockwise <- function(a, block = 512L) {
    out <- matrix(0, nrow(a), ncol(a))
    for (start in seq(1L, ncol(a), by = block)) {
        idx <- start:min(ncol(a), start + block - 1L)
        out[, idx] <- as.matrix(a[, idx, drop = FALSE])
    }
    out
}

# `normal` as a logical vector over the columns of x.
.normalMask <- function(x, normal, normalValue = "normal") {
    if (length(normalValue) != 1 || is.na(normalValue)) {
        .abort("'normalValue' must be a single non-NA value, got ",
               if (length(normalValue) == 0) "nothing" else .preview(normalValue))
    }
    if (is.character(normal) && length(normal) == 1 && ncol(x) != 1) {
        cd <- SummarizedExperiment::colData(x)
        if (!normal %in% colnames(cd)) {
            .abort("'normal' = \"", normal, "\" is not a colData column of 'x' (columns: ",
                   .preview(colnames(cd)), ")")
        }
        v <- as.character(cd[[normal]])
        if (anyNA(v)) .abort(normal, " is NA for samples ", .preview(colnames(x)[is.na(v)]),
                             "; label every sample as tumor or normal, or drop those samples")
        mask <- v == as.character(normalValue)
        if (!any(mask)) {
            .abort("no sample has ", normal, " == \"", normalValue, "\" (values: ", .preview(unique(v)), ")")
        }
    } else if ((is.character(normal) || is.factor(normal)) && length(normal) == ncol(x)) {
        v <- as.character(normal)
        if (anyNA(v)) .abort("'normal' has NA for samples ", .preview(colnames(x)[is.na(v)]))
        mask <- v == as.character(normalValue)
        if (!any(mask)) .abort("no element of 'normal' equals \"", normalValue, "\" (values: ", .preview(unique(v)), ")")
    } else if (is.logical(normal)) {
        if (length(normal) != ncol(x)) {
            .abort("'normal' has length ", length(normal), " but 'x' has ", ncol(x), " samples (columns)")
        }
        if (anyNA(normal)) .abort("'normal' has NA for samples ", .preview(colnames(x)[is.na(normal)]))
        mask <- normal
    } else {
        .abort("'normal' must be a logical vector over the samples, a colData column name, a character/factor ",
               "vector over the samples (compared with 'normalValue'), or a SummarizedExperiment of normal ",
               "samples; got a ", class(normal)[1], " of length ", length(normal))
    }
    if (all(mask)) .abort("'normal' marks every sample as normal: no tumors left to embed")
    if (sum(mask) < 2) .abort("need at least 2 normal samples to mix views from, got ", sum(mask))
    if (sum(!mask) < 4) .abort("need at least 4 tumor samples to train on, got ", sum(!mask))
    mask
}

# camelCase R arguments -> the engine's snake_case keywords, checked against the engine.
.engineParams <- function(...) {
    args <- list(...)
    if (length(args) == 0) return(list())
    if (is.null(names(args)) || any(names(args) == "")) .abort("engine parameters must be named (e.g. nComponents = 32)")
    if (anyDuplicated(names(args))) .abort("argument(s) given twice: ", .preview(unique(names(args)[duplicated(names(args))])))
    snake <- gsub("([a-z0-9])([A-Z])", "\\1_\\2", names(args))
    snake <- tolower(snake)
    names(args) <- snake
    known <- names(twinPurifyDefaults())
    bad <- setdiff(snake, known)
    if (length(bad)) {
        .abort("unknown argument(s) ", .preview(names(list(...))[snake %in% bad]),
               "; engine parameters are ", .preview(.camel(known), 40))
    }
    defaults <- twinPurifyDefaults()
    for (nm in names(args)) .checkEngineValue(.camel(nm), args[[nm]], defaults[[nm]],
                                              vector = nm %in% c("hidden_dims", "projector_dims"))
    args
}

# One engine argument from R: never NA, never recycled, of the default's kind. Ranges are checked by the
# engine's parameter schema (twinpurify.params), whose messages are translated to camelCase.
.checkEngineValue <- function(name, v, default, vector = FALSE) {
    if (is.null(v)) return(invisible())  # NULL -> None; the engine's schema says where None is allowed
    if (!vector && length(v) != 1) .abort("'", name, "' must be a single value, got ", length(v), " values")
    if (vector && length(v) == 0) return(invisible())
    if (anyNA(v)) .abort("'", name, "' is NA; give a value, or leave it out for the default")
    kind <- if (is.logical(default)) "logical" else if (is.numeric(default) || vector) "numeric" else "any"
    if (kind == "logical" && !is.logical(v)) .abort("'", name, "' must be TRUE or FALSE, got ", .preview(v))
    if (kind == "numeric" && !is.numeric(v)) .abort("'", name, "' must be a number, got a ", class(v)[1])
    invisible()
}

.camel <- function(x) gsub("_([a-z])", "\\U\\1", x, perl = TRUE)

.checkModel <- function(model) {
    if (!methods::is(model, "TwinPurifyModel")) .abort("'model' must be a TwinPurifyModel, not a ", class(model)[1])
    invisible(model)
}

# Gene sets for pathwayActivity(): NULL, a named list of character vectors, a data frame net or a GMT path.
.checkGeneSets <- function(geneSets) {
    if (is.null(geneSets)) return(NULL)
    if (is.character(geneSets) && length(geneSets) == 1 && is.null(names(geneSets))) {
        if (!file.exists(geneSets)) .abort("gene-set file '", geneSets, "' does not exist")
        return(normalizePath(geneSets))
    }
    if (is.data.frame(geneSets)) {
        missing <- setdiff(c("source", "target"), names(geneSets))
        if (length(missing)) .abort("a gene-set data frame needs columns source and target; missing ", .preview(missing))
        geneSets[] <- lapply(geneSets, function(col) if (is.factor(col)) as.character(col) else col)
        return(geneSets)
    }
    if (is.list(geneSets)) {
        nm <- names(geneSets)
        if (is.null(nm) || any(is.na(nm) | nm == "")) .abort("'geneSets' must be a *named* list of character vectors")
        bad <- nm[!vapply(geneSets, function(g) is.character(g) && length(g) > 0 && !anyNA(g), logical(1))]
        if (length(bad)) .abort("gene sets ", .preview(bad), " must be non-empty character vectors without NA")
        return(lapply(geneSets, as.list))
    }
    .abort("'geneSets' must be NULL, a named list of character vectors, a data frame (source, target, weight) ",
           "or a GMT file path; got a ", class(geneSets)[1])
}
