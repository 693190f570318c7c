test_that("bad inputs give R errors that name the problem", {
    se <- toy_se()
    expect_error(twinPurify(list(1), "sample_type"), "must be a SummarizedExperiment .* not a list")
    expect_error(twinPurify(matrix(1, 3, 3), "sample_type"), "'x' has no rownames")
    expect_error(twinPurify(se, "sample_type", assay = "logcounts"), "assay 'logcounts' not found .* available: counts")
    expect_error(twinPurify(se, normal = rep(TRUE, 3)), "'normal' has length 3 but 'x' has 48 samples")
    expect_error(twinPurify(se, normal = rep(TRUE, 48)), "marks every sample as normal")
    expect_error(twinPurify(se, normal = rep(FALSE, 48)), "at least 2 normal samples to mix views from, got 0")
    one <- rep(FALSE, 48)
    one[48] <- TRUE
    expect_error(twinPurify(se, normal = one), "at least 2 normal samples to mix views from, got 1")
    expect_error(twinPurify(se, normal = "tissue"), "not a colData column")
    expect_error(twinPurify(se, normal = "sample_type", normalValue = "adjacent"),
                 "no sample has sample_type == \"adjacent\"")
    expect_error(twinPurify(se, normal = c(NA, rep(FALSE, 47))), "'normal' has NA for samples T0001")
    expect_error(twinPurify(se, normal = 1:48), "must be a logical vector .* got a integer of length 48")
    expect_error(twinPurify(se, normal = se$sample_type, normalValue = "N"), "no element of 'normal' equals \"N\"")
})

test_that("assay index, data-frame assays, model type, too few tumors or normals", {
    se <- toy_se()
    expect_error(twinPurify(se, "sample_type", assay = 5), "'assay.type' must be an assay name or index")
    expect_error(twinPurify(se, "sample_type", assay.type = 5), "'assay.type' must be an assay name or index")
    df <- se
    a <- as.data.frame(SummarizedExperiment::assay(se))
    a[[3]] <- as.character(a[[3]])
    SummarizedExperiment::assay(df, withDimnames = FALSE) <- a
    expect_error(twinPurify(df, "sample_type"), "non-numeric columns: T0003")
    expect_error(saveTwinPurify(list(), tempfile()), "'model' must be a TwinPurifyModel, not a list")
    few <- se[, c(1:3, 41:48)]
    expect_error(twinPurify(few, "sample_type"), "at least 4 tumor samples to train on, got 3")
    normal <- se$sample_type == "normal"
    expect_error(twinPurify(se[, !normal], se[, which(normal)[1]]),
                 "at least 2 normal samples to mix views from, got 1")
})

test_that("NA values, non-numeric assays and bad names are caught before Python", {
    se <- toy_se()
    na <- se
    SummarizedExperiment::assay(na)[2, 5] <- NA
    expect_error(twinPurify(na, "sample_type"), "1 NA values, in samples T0005 and genes G0002")
    chr <- se
    SummarizedExperiment::assay(chr, withDimnames = FALSE) <- matrix("a", nrow(se), ncol(se))
    expect_error(twinPurify(chr, "sample_type"), "is not numeric")
    dup <- se
    rownames(dup)[2] <- rownames(dup)[1]
    expect_error(twinPurify(dup, "sample_type"), "duplicated rownames \\(genes\\): G0001")
    expect_error(twinPurify(se[0, ], "sample_type"), "'x' is empty \\(0 genes x 48 samples\\)")
    narow <- se
    rownames(narow)[4] <- NA
    expect_error(twinPurify(narow, "sample_type"), "missing \\(NA or empty\\) rownames")
    nonames <- se
    rownames(nonames) <- NULL
    expect_error(twinPurify(nonames, "sample_type"), "has no rownames")
    dupc <- se
    colnames(dupc)[2] <- colnames(dupc)[1]
    expect_error(twinPurify(dupc, "sample_type"), "duplicated colnames \\(samples\\): T0001")
})

test_that("engine errors arrive as R errors with the engine's message, without traceback noise", {
    skip_if_no_engine()
    se <- toy_se()
    err <- tryCatch(twinPurify(se, "sample_type", inputScale = "log10", verbose = FALSE), error = identity)
    expect_s3_class(err, "twinpurify_error")
    expect_match(conditionMessage(err), "^twinpurify: inputScale='log10' is not allowed: inputScale .* must be one of")
    expect_false(grepl("py_call_impl|Traceback|File \"", conditionMessage(err)))
    neg <- se
    SummarizedExperiment::assay(neg)[1, 3] <- -5L
    expect_error(twinPurify(neg, "sample_type", inputScale = "counts", verbose = FALSE),
                 "negative values in samples T0003")
})

test_that("NA, NULL-like, recycled and mistyped engine arguments are refused, never coerced", {
    skip_if_no_engine()
    se <- toy_se()
    expect_error(twinPurify(se, "sample_type", nComponents = NA), "'nComponents' is NA")
    expect_error(fast_fit(se, "sample_type", nComponents = NA), "given twice: nComponents")
    expect_error(twinPurify(se, "sample_type", maxEpochs = NA), "'maxEpochs' is NA")
    expect_error(twinPurify(se, "sample_type", lr = NA_real_), "'lr' is NA")
    expect_error(twinPurify(se, "sample_type", randomState = NA), "'randomState' is NA")
    expect_error(twinPurify(se, "sample_type", nComponents = c(4, 8)), "'nComponents' must be a single value, got 2")
    expect_error(twinPurify(se, "sample_type", lr = "abc"), "'lr' must be a number, got a character")
    expect_error(twinPurify(se, "sample_type", verbose = 1), "'verbose' must be TRUE or FALSE")
    expect_error(twinPurify(se, "sample_type", normalValue = c("normal", "tumor")),
                 "'normalValue' must be a single non-NA value")
    expect_error(twinPurify(se, "sample_type", normalValue = NA), "'normalValue' must be a single non-NA value")
    # ranges come from the engine's parameter schema, named in camelCase
    expect_error(twinPurify(se, "sample_type", maxEpochs = 2.5), "maxEpochs=2.5 is not allowed")
    expect_error(twinPurify(se, "sample_type", lr = 0), "lr=0.0 is not allowed|lr=0 is not allowed")
    expect_error(twinPurify(se, "sample_type", randomState = -1), "randomState=-1 is not allowed")
    expect_error(twinPurify(se, "sample_type", hiddenDims = 0), "hiddenDims=\\(0,\\) is not allowed")
    expect_error(twinPurify(se, "sample_type", dropMixingDims = -1), "dropMixingDims=-1(\\.0)? is not allowed")
    expect_error(twinPurify(se, "sample_type", dropMixingDims = 1.5), "dropMixingDims=1.5 is not allowed")
    expect_error(twinPurify(se, "sample_type", nNetworks = 0), "nNetworks=0(\\.0)? is not allowed")
})

test_that("a named 'normal' vector must name exactly the samples of 'x'", {
    se <- toy_se()
    named <- stats::setNames(se$sample_type == "normal", colnames(se))
    expect_error(twinPurify(se[, -1], named),
                 "'normal' is named, but its names are not the samples of 'x'; not samples of 'x': T0001")
    other <- named
    names(other)[2:3] <- c("P1", "P2")
    expect_error(twinPurify(se, other),
                 "not samples of 'x': P1, P2; samples of 'x' it does not name: T0002, T0003")
    labels <- stats::setNames(se$sample_type, colnames(se))
    expect_error(twinPurify(se, labels[-48]), "samples of 'x' it does not name: N0008")
    expect_error(twinPurify(se, factor(labels)[-48]), "samples of 'x' it does not name: N0008")
    twice <- named
    names(twice)[2] <- names(twice)[1]
    expect_error(twinPurify(se, twice), "'normal' names samples more than once: T0001")
})

test_that("NA in the colData column telling normals from tumors is an error naming the samples", {
    se <- toy_se()
    se$sample_type[c(2, 5)] <- NA
    expect_error(twinPurify(se, "sample_type"), "sample_type is NA for samples T0002, T0005")
})

test_that("runTwinPurify says it needs an object to store results in, not a matrix", {
    se <- toy_se()
    m <- SummarizedExperiment::assay(se)
    err <- tryCatch(runTwinPurify(m, se$sample_type == "normal"), error = conditionMessage)
    expect_match(err, "stores the embedding in reducedDim\\(x\\), so 'x' must be a SummarizedExperiment")
    expect_match(err, "not a matrix; use calculateTwinPurify\\(\\) for a matrix")
    expect_false(grepl("or a numeric matrix", err))
})

test_that("a logical colData column marks the normals with TRUE; its NA are refused", {
    se <- toy_se()
    se$is_normal <- se$sample_type == "normal"
    expect_identical(twinpurify:::.normalMask(se, "is_normal"), se$is_normal)
    expect_identical(twinpurify:::.normalMask(se, "is_normal", normalValue = TRUE), se$is_normal)
    se$is_tumor <- !se$is_normal
    expect_identical(twinpurify:::.normalMask(se, "is_tumor", normalValue = FALSE), se$is_normal)
    # the same rule for a logical vector as for a logical column (FALSE marked the tumors as normals)
    expect_identical(twinpurify:::.normalMask(se, se$is_tumor, normalValue = FALSE), se$is_normal)
    expect_identical(twinpurify:::.normalMask(se, se$is_normal, normalValue = TRUE), se$is_normal)
    expect_error(twinPurify(se, "is_normal", normalValue = "yes"), "no sample has is_normal == \"yes\"")
    se$is_normal[3] <- NA
    expect_error(twinPurify(se, "is_normal"), "is_normal is NA for samples T0003")
})

test_that("engine names inside paths and file names reach the user as they are", {
    labels <- twinpurify:::.dataLabels("newdata")
    for (path in c("/data/input_scale/run1.csv", "runs/min_size-5/afile", "C:\\runs\\fill_missing\\m",
                   "fill_missing.csv", "~/gene_sets", "out/normal_value", "normal_value/x")) {
        expect_identical(twinpurify:::.rMessage(paste("X: cannot read", path), labels),
                         paste("'newdata': cannot read", path))
    }
    # beside a path, and as words of a sentence, they are still R's names
    expect_identical(twinpurify:::.rMessage("cannot read /data/input_scale/x.csv: set input_scale='log2'"),
                     "cannot read /data/input_scale/x.csv: set inputScale='log2'")
    expect_identical(twinpurify:::.rMessage("'min_size' (min_size) must be at least 1; see fill_missing."),
                     "'minSize' (minSize) must be at least 1; see fillMissing.")
    skip_if_no_engine()
    se <- toy_se()
    model <- fitTwinPurify(se, "sample_type", nComponents = 3, hiddenDims = 8, projectorDims = 8,
                           maxEpochs = 1, nNetworks = 1, verbose = FALSE)
    dir <- file.path(tempfile(), "n_genes-2000")
    dir.create(dir, recursive = TRUE)
    f <- file.path(dir, "max_epochs.txt")
    writeLines("a", f)
    expect_error(saveTwinPurify(model, f, overwrite = TRUE), paste0("twinpurify: ", f, " is a file, not a model"),
                 fixed = TRUE)
})

test_that("saveTwinPurify with overwrite never deletes a folder that is not a model", {
    skip_if_no_engine()
    se <- toy_se()
    model <- fitTwinPurify(se, "sample_type", nComponents = 4, hiddenDims = 16, projectorDims = c(16, 16),
                           maxEpochs = 2, verbose = FALSE)
    dir <- file.path(tempdir(), "user_results")
    dir.create(dir, showWarnings = FALSE)
    writeLines("precious", file.path(dir, "notes.txt"))
    expect_error(saveTwinPurify(model, dir, overwrite = TRUE), "does not hold a TwinPurify model")
    expect_equal(readLines(file.path(dir, "notes.txt")), "precious")
    f <- tempfile(fileext = ".csv")
    writeLines("a,b", f)
    expect_error(saveTwinPurify(model, f, overwrite = TRUE), "is a file")
    expect_equal(readLines(f), "a,b")
})

test_that("unknown engine arguments are refused, named in camelCase", {
    skip_if_no_engine()
    se <- toy_se()
    expect_error(twinPurify(se, "sample_type", nComponent = 3),
                 "unknown argument\\(s\\) nComponent")
})

test_that("matrices are checked like assays; colData names need colData", {
    se <- toy_se()
    m <- SummarizedExperiment::assay(se, "counts")
    normal <- se$sample_type == "normal"
    expect_error(calculateTwinPurify(m, "sample_type"),
                 "names a colData column, but 'x' is a matrix without colData")
    bad <- m
    bad[3, 7] <- NA
    expect_error(calculateTwinPurify(bad, normal), "'x' has 1 NA values, in samples T0007 and genes G0003")
    dup <- m
    colnames(dup)[2] <- colnames(dup)[1]
    expect_error(calculateTwinPurify(dup, normal), "'x' has duplicated colnames \\(samples\\): T0001")
    expect_error(calculateTwinPurify(m[, !normal], m[, which(normal)[1], drop = FALSE]),
                 "at least 2 normal samples to mix views from, got 1")
    expect_error(calculateTwinPurify(m, normal[-1]), "'normal' has length 47 but 'x' has 48 samples")
})

test_that("a data frame with automatic row names has no gene names", {
    se <- toy_se()
    normal <- se$sample_type == "normal"
    df <- as.data.frame(unname(SummarizedExperiment::assay(se)))
    colnames(df) <- colnames(se)
    expect_error(calculateTwinPurify(df, normal), "'x' has no rownames: it is a data frame with automatic row names")
    m <- SummarizedExperiment::assay(se)
    expect_error(calculateTwinPurify(m[, !normal], df[, normal]), "'normal' has no rownames")
})

test_that("assay.type chooses by name ('counts' by default); assay is its alias", {
    se <- toy_se()
    SummarizedExperiment::assays(se) <- list(log = log2(SummarizedExperiment::assay(se) + 1))
    expect_error(twinPurify(se, "sample_type"),
                 "assay 'counts' not found in 'x'; available: log; choose one with assay.type")
    expect_error(twinPurify(se, "sample_type", assay.type = "tpm"), "assay 'tpm' not found")
    expect_error(twinPurify(se, "sample_type", assay = "tpm"), "assay 'tpm' not found")
    expect_error(twinPurify(se, "sample_type", assay.type = "log", assay = "tpm"),
                 "give 'assay.type' or its alias 'assay', not both")
    expect_identical(twinpurify:::.assayAlias("counts", "log"), "log")
    expect_identical(twinpurify:::.assayAlias("log", NULL), "log")
})

test_that("the shipped toy cohort is a small SummarizedExperiment usable without Python", {
    se <- toy_se()
    expect_s4_class(se, "SummarizedExperiment")
    expect_identical(dim(se), c(100L, 48L))
    expect_identical(SummarizedExperiment::assayNames(se), "counts")
    expect_identical(as.vector(table(se$sample_type)[c("tumor", "normal")]), c(40L, 8L))
    expect_true(is.integer(SummarizedExperiment::assay(se)))
})

test_that("engine messages use R's names: camelCase arguments, R's data arguments, no Python class", {
    msg <- twinpurify:::.rMessage(
        "twinpurify.pathways.GeneSetError: X: set fill_missing='mean', input_scale='log2' or min_size=3",
        twinpurify:::.dataLabels("newdata"))
    expect_identical(msg, "'newdata': set fillMissing='mean', inputScale='log2' or minSize=3")
    expect_identical(twinpurify:::.rMessage("normal: bad", twinpurify:::.dataLabels(normalInX = TRUE)),
                     "the normals of 'x': bad")
    skip_if_no_engine()
    se <- toy_se()
    model <- fitTwinPurify(se, "sample_type", nComponents = 3, hiddenDims = 8, projectorDims = 8,
                           maxEpochs = 1, nNetworks = 1, verbose = FALSE)
    expect_error(predict(model, se[-(1:3), ]),
                 "^twinpurify: 'newdata': 3 of the model's 100 genes are missing: .* set fillMissing='mean'")
    neg <- se
    SummarizedExperiment::assay(neg)[1, 45] <- -5L
    expect_error(fitTwinPurify(neg, "sample_type", inputScale = "counts", verbose = FALSE),
                 "^twinpurify: the normals of 'x': negative values in samples N0005 .* use inputScale='log2'")
    normal <- se$sample_type == "normal"
    expect_error(fitTwinPurify(se[, !normal], neg[, normal], inputScale = "counts", verbose = FALSE),
                 "^twinpurify: 'normal': negative values in samples N0005")
    # a configured engine parameter in the middle of a message (not only "is not allowed:")
    expect_error(twinPurify(se, "sample_type", contentWeight = 1, nNetworks = 2, verbose = FALSE),
                 "contentWeight=1(\\.0)? with nNetworks=2: .* use contentWeight=0 or nNetworks=1")
    tumors <- se[, !normal]
    err <- tryCatch(pathwayActivity(model, tumors, list(A = c("X1", "X2"))), error = conditionMessage)
    expect_match(err, "^twinpurify: no gene set has 5 or more")
    expect_false(grepl("GeneSetError", err))
    expect_warning(pathwayActivity(model, tumors, list(A = rownames(se)[1:10], SMALL = rownames(se)[11:12])),
                   "fewer than minSize=5")
})
