# Input checks: every message names the argument and the offending samples or
# genes. They run in R, before Python is started.

.checkNames <- function(rn, cn, nr, nc, what) {
    if (nc == 0 || nr == 0) {
        .abort("'", what, "' is empty (", nr, " genes x ", nc, " samples)")
    }
    if (is.null(rn)) {
        .abort("'", what, "' has no rownames: genes must be named to match ",
            "models across cohorts")
    }
    .checkNameVector(rn, what, "rownames", "genes")
    if (is.null(cn)) {
        .abort("'", what, "' has no colnames: samples must be named")
    }
    .checkNameVector(cn, what, "colnames", "samples")
    invisible()
}

.checkNameVector <- function(v, what, kind, unit) {
    if (anyNA(v) || any(v == "")) {
        .abort("'", what, "' has missing (NA or empty) ", kind)
    }
    if (anyDuplicated(v)) {
        .abort("'", what, "' has duplicated ", kind, " (", unit, "): ",
            .preview(unique(v[duplicated(v)])))
    }
    invisible()
}

.checkSE <- function(x, what = "x") {
    if (!methods::is(x, "SummarizedExperiment")) {
        .abort("'", what, "' must be a SummarizedExperiment (or ",
            "SingleCellExperiment) or a numeric matrix, not a ", class(x)[1],
            "; build one with SummarizedExperiment(assays = list(counts = m), ",
            "colData = ...)")
    }
    .checkNames(rownames(x), colnames(x), nrow(x), ncol(x), what)
    invisible(x)
}

# runTwinPurify() stores its results in `x` (reducedDim and metadata), so a
# bare matrix, which calculateTwinPurify() takes, cannot be its input.
.checkStorable <- function(x) {
    if (!methods::is(x, "SummarizedExperiment")) {
        .abort("runTwinPurify() stores the embedding in reducedDim(x), so ",
            "'x' must be a SummarizedExperiment or SingleCellExperiment, not ",
            "a ", class(x)[1], "; use calculateTwinPurify() for a matrix, or ",
            "wrap it: SummarizedExperiment(assays = list(counts = m))")
    }
    .checkSE(x, "x")
}

# The rownames of a matrix-like `x`. A data frame (or tibble) with automatic
# row names ("1", "2", ...) has none: they number rows, not genes.
.geneNames <- function(x, what) {
    if (is.data.frame(x) && nrow(x) > 0 && .row_names_info(x) < 0L) {
        .abort("'", what, "' has no rownames: it is a data frame with ",
            "automatic row names (1, 2, ...); genes must be named to match ",
            "models across cohorts (set rownames(", what, ") to the genes)")
    }
    rownames(x)
}

.isMatrixLike <- function(x) {
    is.matrix(x) || is.data.frame(x) || methods::is(x, "Matrix") ||
        methods::is(x, "DelayedArray")
}

# `assay` is the older name of `assay.type`; both given and different is an
# error.
.assayAlias <- function(assay.type, assay) {
    if (is.null(assay)) return(assay.type)
    if (!is.null(assay.type) &&
        !identical(assay.type, "counts") && !identical(assay.type, assay)) {
        .abort("give 'assay.type' or its alias 'assay', not both")
    }
    assay
}

.pickAssay <- function(x, assay.type, what = "x") {
    names <- SummarizedExperiment::assayNames(x)
    n <- length(SummarizedExperiment::assays(x))
    if (n == 0) .abort("'", what, "' has no assays")
    if (is.null(assay.type) || length(assay.type) != 1 || is.na(assay.type)) {
        .abort("'assay.type' must be one assay name or index of '", what, "'")
    }
    if (is.character(assay.type)) {
        if (!assay.type %in% names) {
            .abort("assay '", assay.type, "' not found in '", what,
                "'; available: ",
                if (length(names)) paste(names, collapse = ", ") else
                    "(unnamed assays)",
                "; choose one with assay.type =")
        }
    } else if (!is.numeric(assay.type) || assay.type < 1 || assay.type > n) {
        .abort("'assay.type' must be an assay name or index of '", what, "'")
    }
    assay.type
}

# What the engine takes: values (a base numeric matrix or a dgCMatrix, genes
# x samples), sample names and gene names. `x` is a SummarizedExperiment or a
# matrix-like object with genes in rows.
.input <- function(x, assay.type = "counts", what = "x") {
    if (methods::is(x, "SummarizedExperiment")) {
        .checkSE(x, what)
        a <- SummarizedExperiment::assay(x, .pickAssay(x, assay.type, what),
            withDimnames = FALSE)
        label <- paste0("assay ", assay.type, " of '", what, "'")
    } else if (.isMatrixLike(x)) {
        .checkNames(.geneNames(x, what), colnames(x), nrow(x), ncol(x), what)
        a <- x
        label <- paste0("'", what, "'")
    } else {
        .checkSE(x, what)
    }
    list(values = .numericMatrix(a, label, rownames(x), colnames(x)),
        samples = colnames(x), genes = rownames(x))
}

# A base numeric matrix or a dgCMatrix; DelayedArray assays are realised a
# block of columns at a time.
.numericMatrix <- function(a, label, genes, samples) {
    if (is.data.frame(a)) {
        bad <- which(!vapply(a, is.numeric, logical(1)))
        if (length(bad)) {
            .abort(label, " has non-numeric columns: ", .preview(samples[bad]))
        }
        a <- as.matrix(a)
    }
    if (methods::is(a, "DelayedArray")) a <- .realiseBlockwise(a)
    if (methods::is(a, "dgCMatrix")) {
        vals <- a@x
    } else {
        a <- as.matrix(a)
        vals <- a
    }
    if (!is.numeric(vals)) {
        .abort(label, " is not numeric (", class(vals)[1], ")")
    }
    if (anyNA(vals)) {
        where <- which(is.na(as.matrix(a)), arr.ind = TRUE)
        .abort(label, " has ", nrow(where), " NA values, in samples ",
            .preview(unique(samples[where[, 2]])), " and genes ",
            .preview(unique(genes[where[, 1]])),
            "; impute them or drop those genes first")
    }
    if (is.integer(a)) storage.mode(a) <- "double"
    dimnames(a) <- list(NULL, NULL)
    a
}

.realiseBlockwise <- function(a, block = 512L) {
    out <- matrix(0, nrow(a), ncol(a))
    for (start in seq(1L, ncol(a), by = block)) {
        idx <- seq(start, min(ncol(a), start + block - 1L))
        out[, idx] <- as.matrix(a[, idx, drop = FALSE])
    }
    out
}

# `normal` as a logical vector over the columns of x (a SummarizedExperiment
# or a matrix).
.normalMask <- function(x, normal, normalValue = "normal",
    checkCounts = .checkCounts) {
    if (length(normalValue) != 1 || is.na(normalValue)) {
        .abort("'normalValue' must be a single non-NA value, got ",
            if (length(normalValue) == 0) "nothing" else .preview(normalValue))
    }
    mask <- if (is.character(normal) && length(normal) == 1 && ncol(x) != 1) {
        .maskFromColumn(x, normal, normalValue)
    } else {
        .maskFromVector(x, .alignByName(normal, colnames(x)), normalValue)
    }
    checkCounts(sum(mask), sum(!mask))
    mask
}

# `normal` given as a vector over the columns of `x`, in their order.
.maskFromVector <- function(x, normal, normalValue) {
    n <- ncol(x)
    if ((is.character(normal) || is.factor(normal)) &&
        length(normal) == n) {
        v <- as.character(normal)
        if (anyNA(v)) {
            .abort("'normal' has NA for samples ",
                .preview(colnames(x)[is.na(v)]))
        }
        mask <- v == as.character(normalValue)
        if (!any(mask)) {
            .abort("no element of 'normal' equals \"", normalValue,
                "\" (values: ", .preview(unique(v)), ")")
        }
    } else if (is.logical(normal)) {
        if (length(normal) != n) {
            .abort("'normal' has length ", length(normal), " but 'x' has ", n,
                " samples (columns)")
        }
        if (anyNA(normal)) {
            .abort("'normal' has NA for samples ",
                .preview(colnames(x)[is.na(normal)]))
        }
        # TRUE marks the normals, unless normalValue = FALSE says FALSE does
        # (as for a logical colData column)
        mask <- if (isFALSE(normalValue)) !normal else normal
    } else {
        .abort("'normal' must be a logical vector over the samples, a ",
            "colData column name, a character/factor vector over the samples ",
            "(compared with 'normalValue'), or a SummarizedExperiment or ",
            "matrix of normal samples; got a ", class(normal)[1], " of length ",
            length(normal))
    }
    mask
}

# A named `normal` vector is matched to the samples by its names (a vector
# built before the columns were reordered or subset would otherwise mark the
# wrong samples); names that are not exactly the samples are an error.
.alignByName <- function(normal, samples) {
    nm <- names(normal)
    if (is.null(nm)) return(normal)
    if (anyDuplicated(nm)) {
        .abort("'normal' names samples more than once: ",
            .preview(unique(nm[duplicated(nm)])))
    }
    extra <- setdiff(nm, samples)
    absent <- setdiff(samples, nm)
    if (length(extra) || length(absent)) {
        .abort("'normal' is named, but its names are not the samples of 'x'",
            if (length(extra)) paste0("; not samples of 'x': ",
                .preview(extra)),
            if (length(absent)) paste0("; samples of 'x' it does not name: ",
                .preview(absent)),
            "; name every sample once, or pass an unnamed vector in the ",
            "order of the columns")
    }
    unname(normal[match(samples, nm)])
}

# `normal` naming a colData column of `x`: its samples equal to
# `normalValue` are the normals; a logical column marks them with TRUE
# unless `normalValue` says otherwise.
.maskFromColumn <- function(x, normal, normalValue) {
    if (!methods::is(x, "SummarizedExperiment")) {
        .abort("'normal' = \"", normal, "\" names a colData column, but 'x' ",
            "is a ", class(x)[1], " without colData; pass a logical vector ",
            "over its columns")
    }
    cd <- SummarizedExperiment::colData(x)
    if (!normal %in% colnames(cd)) {
        .abort("'normal' = \"", normal, "\" is not a colData column of 'x' ",
            "(columns: ", .preview(colnames(cd)), ")")
    }
    if (is.logical(cd[[normal]]) && identical(normalValue, "normal")) {
        # a logical column is the mask itself: TRUE marks the normals
        normalValue <- TRUE
    }
    v <- as.character(cd[[normal]])
    if (anyNA(v)) {
        .abort(normal, " is NA for samples ", .preview(colnames(x)[is.na(v)]),
            "; label every sample as tumor or normal, or drop those samples")
    }
    mask <- v == as.character(normalValue)
    if (!any(mask)) {
        .abort("no sample has ", normal, " == \"", normalValue, "\" (values: ",
            .preview(unique(v)), ")")
    }
    mask
}

.checkCounts <- function(nNormal, nTumor) {
    if (nTumor == 0) {
        .abort("'normal' marks every sample as normal: no tumors left to embed")
    }
    if (nNormal < 2) {
        .abort("need at least 2 normal samples to mix views from, got ",
            nNormal)
    }
    if (nTumor < 4) {
        .abort("need at least 4 tumor samples to train on, got ", nTumor)
    }
    invisible()
}

# fitReadout() fits no network: 3 tumors for the readout's ridge (an empty
# or all-tumor 'normal' is refused by .input() and .normalMask()).
.checkReadoutCounts <- function(nNormal, nTumor) {
    if (nTumor < 3) {
        .abort("need at least 3 tumor samples to fit the readout, got ", nTumor)
    }
    invisible()
}

# The alternative experiment `altexp` of a SingleCellExperiment `x` (its
# genes are what the model reads), checked to be one of x's; `what` is the
# R argument `x` came in.
.altExpOf <- function(x, altexp, what = "x") {
    if (!methods::is(x, "SingleCellExperiment")) {
        .abort("'altexp' needs a SingleCellExperiment '", what, "', not a ",
            class(x)[1])
    }
    have <- SingleCellExperiment::altExpNames(x)
    ok <- length(altexp) == 1 && !is.na(altexp) && (if (is.character(altexp))
        altexp %in% have else is.numeric(altexp) &&
        altexp >= 1 && altexp <= length(have) && altexp == round(altexp))
    if (!ok) {
        .abort("'altexp' must name one alternative experiment of '", what,
            "' (",
            if (length(have)) .preview(have) else "it has none", "), got ",
            if (length(altexp)) .preview(altexp) else "nothing")
    }
    SingleCellExperiment::altExp(x, altexp)
}

# `.altExpOf(x, altexp)` with `normal` turned into a mask over the columns
# when it names a colData column or holds labels of `x`: the altExp shares
# the columns but has a colData of its own.
.fromAltExp <- function(x, normal, normalValue, altexp,
    checkCounts = .checkCounts) {
    alt <- .altExpOf(x, altexp)
    if (!is.null(normal) && !.isNormalSet(normal)) {
        normal <- .normalMask(x, normal, normalValue, checkCounts = checkCounts)
    }
    list(x = alt, normal = normal)
}

# Is `normal` a separate set of samples (rather than a colData column or mask)?
.isNormalSet <- function(normal) {
    methods::is(normal, "SummarizedExperiment") || .isMatrixLike(normal)
}

# camelCase R arguments -> the engine's snake_case keywords, checked against
# the engine.
.engineParams <- function(...) {
    args <- list(...)
    if (length(args) == 0) return(list())
    if (is.null(names(args)) || any(names(args) == "")) {
        .abort("engine parameters must be named (e.g. nComponents = 32)")
    }
    if (anyDuplicated(names(args))) {
        .abort("argument(s) given twice: ",
            .preview(unique(names(args)[duplicated(names(args))])))
    }
    snake <- tolower(gsub("([a-z0-9])([A-Z])", "\\1_\\2", names(args)))
    names(args) <- snake
    known <- names(twinPurifyDefaults())
    bad <- setdiff(snake, known)
    if (length(bad)) {
        .abort("unknown argument(s) ",
            .preview(names(list(...))[snake %in% bad]),
            "; engine parameters are ", .preview(.camel(known), 40))
    }
    defaults <- twinPurifyDefaults()
    for (nm in names(args)) {
        .checkEngineValue(.camel(nm), args[[nm]], defaults[[nm]],
            vector = nm %in% c("hidden_dims", "projector_dims"))
    }
    args
}

# One engine argument from R: never NA, never recycled, of the default's kind.
# Ranges are checked by the engine's parameter schema (twinpurify.params),
# whose messages are translated to camelCase.
.checkEngineValue <- function(name, v, default, vector = FALSE) {
    # NULL -> None; the engine's schema says where None is allowed
    if (is.null(v)) return(invisible())
    if (!vector && length(v) != 1) {
        .abort("'", name, "' must be a single value, got ", length(v),
            " values")
    }
    if (vector && length(v) == 0) return(invisible())
    if (anyNA(v)) {
        .abort("'", name, "' is NA; give a value, or leave it out for the ",
            "default")
    }
    kind <- if (is.logical(default)) "logical" else
        if (is.numeric(default) || vector) "numeric" else "any"
    if (kind == "logical" && !is.logical(v)) {
        .abort("'", name, "' must be TRUE or FALSE, got ", .preview(v))
    }
    if (kind == "numeric" && !is.numeric(v)) {
        .abort("'", name, "' must be a number, got a ", class(v)[1])
    }
    invisible()
}

# `...` of a method that must have it (predict's S3 generic) but takes
# nothing through it: anything there is a misspelt or unknown argument, an
# error naming it and the arguments `fun` takes.
.checkNoDots <- function(fun, takes, ...) {
    n <- ...length()
    if (n == 0L) return(invisible())
    nm <- names(as.list(substitute(list(...)))[-1L])
    if (is.null(nm)) nm <- rep("", n)
    shown <- ifelse(nm == "", "(unnamed)", nm)
    .abort(fun, "() got unknown argument(s) ", .preview(shown),
        "; it takes ", paste(takes, collapse = ", "))
}

.camel <- function(x) gsub("_([a-z])", "\\U\\1", x, perl = TRUE)

.checkModel <- function(model) {
    if (!methods::is(model, "TwinPurifyModel")) {
        .abort("'model' must be a TwinPurifyModel, not a ", class(model)[1])
    }
    invisible(model)
}

.checkFraction <- function(v, name) {
    if (!is.numeric(v) || length(v) != 1L || is.na(v) || v < 0 || v > 1) {
        .abort("'", name, "' must be one number between 0 and 1, not ",
            .preview(v))
    }
    invisible(v)
}

.checkFlag <- function(v, name) {
    if (!is.logical(v) || length(v) != 1 || is.na(v)) {
        .abort("'", name, "' must be TRUE or FALSE")
    }
    invisible(v)
}

.checkResidual <- function(residual, purified = TRUE) {
    .checkFlag(purified, "purified")
    .checkFlag(residual, "residual")
    if (residual && !purified) {
        .abort("'residual = TRUE' scores the residual form of the purified ",
            "expression; it needs 'purified = TRUE'")
    }
    invisible(residual)
}

.checkMinSize <- function(minSize) {
    if (!is.numeric(minSize) || length(minSize) != 1 || is.na(minSize) ||
        minSize < 1 || minSize %% 1 != 0) {
        .abort("'minSize' must be one whole number >= 1")
    }
    invisible(minSize)
}

# Gene sets for pathwayActivity(): NULL, a named list of character vectors,
# a data frame net or a GMT path.
.checkGeneSets <- function(geneSets) {
    if (is.null(geneSets)) return(NULL)
    if (is.character(geneSets) && length(geneSets) == 1 &&
        is.null(names(geneSets))) {
        if (!file.exists(geneSets)) {
            .abort("gene-set file '", geneSets, "' does not exist")
        }
        return(normalizePath(geneSets))
    }
    if (is.data.frame(geneSets)) {
        missing <- setdiff(c("source", "target"), names(geneSets))
        if (length(missing)) {
            .abort("a gene-set data frame needs columns source and target; ",
                "missing ", .preview(missing))
        }
        geneSets[] <- lapply(geneSets,
            function(col) if (is.factor(col)) as.character(col) else col)
        return(geneSets)
    }
    if (is.list(geneSets)) {
        nm <- names(geneSets)
        if (is.null(nm) || any(is.na(nm) | nm == "")) {
            .abort("'geneSets' must be a *named* list of character vectors")
        }
        if (anyDuplicated(nm)) {
            # the engine takes a dict: all but the last set of a name would
            # be dropped
            .abort("gene sets named twice: ", .preview(unique(nm[duplicated(nm)])),
                "; give each set its own name")
        }
        ok <- vapply(geneSets, function(g) {
            is.character(g) && length(g) > 0 && !anyNA(g)
        }, logical(1))
        if (!all(ok)) {
            .abort("gene sets ", .preview(nm[!ok]),
                " must be non-empty character vectors without NA")
        }
        # unname: a named vector (split() of AnnotationDbi::mapIds() output)
        # would arrive as a dict, whose keys (the names) Python reads as genes
        return(lapply(geneSets, function(g) as.list(unname(g))))
    }
    .abort("'geneSets' must be NULL, a named list of character vectors, a ",
        "data frame (source, target, weight) or a GMT file path; got a ",
        class(geneSets)[1])
}
