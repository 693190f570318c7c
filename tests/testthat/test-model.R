fit_small <- function(se, ...) {
    fitTwinPurify(se, "sample_type", nComponents = 4, hiddenDims = 16,
                  projectorDims = c(16, 16), maxEpochs = 4, randomState = 2,
                  verbose = FALSE, ...)
}

test_that("a runTwinPurify result survives saveRDS/readRDS in a new R process and predicts identically", {
    skip_if_no_engine()
    se <- toy_se()
    sce <- runTwinPurify(se, "sample_type", nComponents = 4, hiddenDims = 16, projectorDims = c(16, 16),
                         maxEpochs = 3, randomState = 5, verbose = FALSE)
    model <- S4Vectors::metadata(sce)$TwinPurify
    here <- predict(model, se)
    expect_identical(unname(here), unname(SingleCellExperiment::reducedDim(sce, "TwinPurify")))
    rds <- tempfile(fileext = ".rds")
    out <- tempfile(fileext = ".rds")
    saveRDS(sce, rds)
    lines <- c(sprintf("sce <- readRDS(%s)", deparse(rds)),
               "model <- S4Vectors::metadata(sce)$TwinPurify",
               "stopifnot(methods::validObject(model))",
               "data(tpToyCohort, package = 'twinpurify')",
               sprintf("saveRDS(predict(model, tpToyCohort), %s)", deparse(out)),
               "cat('genes', length(twinPurifyGenes(model)), '\\n')")
    res <- run_rscript(lines)
    expect_true(file.exists(out), info = paste(res, collapse = "\n"))
    expect_identical(readRDS(out), here)
    expect_true(any(grepl("^genes 100", res)))
    # and in this process: a copy whose Python pointer is gone is rebuilt from its bytes
    again <- readRDS(rds)
    m2 <- S4Vectors::metadata(again)$TwinPurify
    m2@cache$py <- NULL
    expect_identical(predict(m2, se), here)
})

test_that("accessors give genes, loss history and camelCase parameters; validity guards the object", {
    skip_if_no_engine()
    se <- toy_se()
    model <- fit_small(se)
    expect_identical(twinPurifyGenes(model), rownames(se))
    h <- lossHistory(model)
    expect_s3_class(h, "data.frame")
    expect_identical(names(h), c("epoch", "loss", "lr"))
    expect_identical(h$epoch, 1:4)
    expect_true(all(is.finite(h$loss)))
    expect_equal(h$loss[4], model@info$final_loss)
    p <- twinPurifyParams(model)
    expect_equal(p$nComponents, 4)
    expect_equal(p$randomState, 2)
    expect_true("projectorDims" %in% names(p))
    expect_true(validObject(model))
    broken <- model
    broken@files$weights.safetensors <- raw()
    expect_error(validObject(broken), "non-empty raw vectors")
    broken <- model
    broken@files$config.json <- NULL
    expect_error(validObject(broken), "must hold config.json and weights.safetensors")
    broken <- model
    broken@genes <- c("A", "A")
    expect_error(validObject(broken), "unique, non-NA gene names")
    expect_s3_class(twinPurifyEngine(model), "python.builtin.object")
})

test_that("plotLoss draws the history of a model or of a runTwinPurify result", {
    skip_if_no_engine()
    se <- toy_se()
    model <- fit_small(se)
    pdf(NULL)
    on.exit(dev.off(), add = TRUE)
    h <- plotLoss(model)
    expect_identical(h, lossHistory(model))
    sce <- runTwinPurify(se, "sample_type", nComponents = 3, maxEpochs = 2, verbose = FALSE, name = "TP")
    expect_identical(nrow(plotLoss(sce, name = "TP")), 2L)
    expect_error(plotLoss(sce), "metadata\\(x\\)\\$TwinPurify holds no TwinPurifyModel")
    expect_error(plotLoss(1), "must be a TwinPurifyModel or a SummarizedExperiment")
})

test_that("engine notes are R messages (suppressMessages silences them); warnings are R warnings", {
    skip_if_no_engine()
    se <- toy_se()
    args <- list(se, "sample_type", nComponents = 3, hiddenDims = 8, projectorDims = 8, maxEpochs = 1,
                 progress = FALSE)
    expect_message(do.call(fitTwinPurify, args), "inputScale='auto' detected integer counts")
    expect_silent(suppressMessages(do.call(fitTwinPurify, args)))
    model <- suppressMessages(do.call(fitTwinPurify, args))
    logged <- se
    SummarizedExperiment::assay(logged, "counts") <- log2(SummarizedExperiment::assay(se) + 1)
    expect_warning(suppressMessages(predict(model, logged)), "^twinpurify: .*scale")
})

test_that("exiting handlers catch engine notes and warnings (nothing unwinds through Python)", {
    skip_if_no_engine()
    se <- toy_se()
    args <- list(se, "sample_type", nComponents = 3, hiddenDims = 8, projectorDims = 8, maxEpochs = 1,
                 progress = FALSE)
    note <- tryCatch(do.call(fitTwinPurify, args), message = conditionMessage,
                     error = function(e) paste("error:", conditionMessage(e)))
    expect_match(note, "detected integer counts")
    model <- suppressMessages(do.call(fitTwinPurify, args))
    logged <- se
    SummarizedExperiment::assay(logged, "counts") <- log2(SummarizedExperiment::assay(se) + 1)
    caught <- tryCatch(predict(model, logged), warning = conditionMessage,
                       error = function(e) paste("error:", conditionMessage(e)))
    expect_match(caught, "^twinpurify: the input looks like log2 values")
    # calling handlers still see each one, in the engine's order, and the call completes
    seen <- character()
    z <- withCallingHandlers(do.call(fitTwinPurify, args),
        message = function(m) {
            seen <<- c(seen, conditionMessage(m))
            invokeRestart("muffleMessage")
        })
    expect_s4_class(z, "TwinPurifyModel")
    expect_match(seen[1], "detected integer counts")
    z <- withCallingHandlers(predict(model, logged), warning = function(w) invokeRestart("muffleWarning"))
    expect_identical(dim(z), c(ncol(se), 3L))
})

# The conditions `expr` signals, in order, as "warning: ...", "message: ..."
# and "error: ..." (the call's value is dropped).
conditions_of <- function(expr) {
    seen <- character()
    tryCatch(withCallingHandlers(expr,
        warning = function(w) {
            seen <<- c(seen, paste("warning:", conditionMessage(w)))
            invokeRestart("muffleWarning")
        },
        message = function(m) {
            seen <<- c(seen, paste("message:", conditionMessage(m)))
            invokeRestart("muffleMessage")
        }),
        error = function(e) seen <<- c(seen, paste("error:", conditionMessage(e))))
    seen
}

test_that("engine warnings come in the engine's order with its notes, and before the error of a failing call", {
    skip_if_no_engine()
    se <- toy_se()
    normal <- se$sample_type == "normal"
    counts <- SummarizedExperiment::assay(se)
    # the engine warns about the genes the normals lack, then notes the scale it detected
    got <- conditions_of(fitTwinPurify(counts[, !normal], counts[1:80, normal], nComponents = 3, hiddenDims = 8,
                                       projectorDims = 8, maxEpochs = 1, nNetworks = 1, progress = FALSE))
    expect_length(got, 2)
    expect_match(got[1], "^warning: twinpurify: tumor and normal share 80 of the tumors' 100 genes")
    expect_match(got[2], "^message: inputScale='auto' detected integer counts")
    # log2 values lacking 10 genes: the engine warns about the scale, then fails on the genes
    model <- suppressMessages(fitTwinPurify(se, "sample_type", nComponents = 3, hiddenDims = 8, projectorDims = 8,
                                            maxEpochs = 1, nNetworks = 1, progress = FALSE))
    logged <- se[1:90, ]
    SummarizedExperiment::assay(logged, "counts") <- log2(SummarizedExperiment::assay(logged) + 1)
    got <- conditions_of(predict(model, logged))
    expect_length(got, 2)
    expect_match(got[1], "^warning: twinpurify: the input looks like log2 values")
    expect_match(got[2], "^error: twinpurify: 'newdata': 10 of the model's 100 genes are missing")
    caught <- tryCatch(predict(model, logged), warning = conditionMessage, error = conditionMessage)
    expect_match(caught, "^twinpurify: the input looks like log2 values")
})

test_that("saveTwinPurify to the working directory saves there", {
    # before: "." refused as holding the save's own temporary folder
    skip_if_no_engine()
    se <- toy_se()
    model <- fit_small(se)
    dir <- file.path(tempfile(), "here")
    dir.create(dir, recursive = TRUE)
    old <- setwd(dir)
    on.exit(setwd(old), add = TRUE)
    saveTwinPurify(model, ".", overwrite = TRUE)
    expect_setequal(list.files("."), c("config.json", "weights.safetensors"))
    expect_identical(predict(loadTwinPurify("."), se), predict(model, se))
    expect_length(list.files(dirname(dir), all.files = TRUE, no.. = TRUE), 1)
})

test_that("warnings at load are R warnings: loadTwinPurify and a model rebuilt after readRDS", {
    skip_if_no_engine()
    se <- toy_se()
    model <- fit_small(se)
    path <- tempfile("gpu-model")
    saveTwinPurify(model, path)
    # as if fitted on a GPU this machine does not have
    cfg <- file.path(path, "config.json")
    json <- sub('"device": *"[^"]*"', '"device": "cuda:99"', readChar(cfg, file.size(cfg)))
    writeChar(json, cfg, eos = NULL)
    saved <- "was saved with device='cuda:99', which this machine does not have; loading it on the CPU"
    expect_warning(loaded <- loadTwinPurify(path), paste0("twinpurify: ", path, " ", saved), fixed = TRUE)
    expect_identical(predict(loaded, se), predict(model, se))
    gpu <- model
    gpu@files$config.json <- charToRaw(json)
    rds <- tempfile(fileext = ".rds")
    saveRDS(gpu, rds)
    again <- readRDS(rds)
    expect_warning(z <- predict(again, se), paste("twinpurify: the model", saved), fixed = TRUE)
    expect_identical(z, predict(model, se))
})

test_that("a progress bar reports every epoch when asked for, and none with verbose = FALSE", {
    skip_if_no_engine()
    se <- toy_se()
    fit <- function(...) {
        suppressMessages(fitTwinPurify(se, "sample_type", nComponents = 3, hiddenDims = 8,
                                       projectorDims = 8, maxEpochs = 5, ...))
    }
    shown <- capture.output(m <- fit(progress = TRUE), type = "message")
    expect_true(any(grepl("100%", shown)))
    expect_false(any(grepl("%", capture.output(m <- fit(progress = FALSE), type = "message"))))
    expect_false(any(grepl("%", capture.output(m <- fit(progress = TRUE, verbose = FALSE), type = "message"))))
})

test_that("the matrix (ANY), SummarizedExperiment and SingleCellExperiment methods agree", {
    skip_if_no_engine()
    se <- toy_se()
    normal <- se$sample_type == "normal"
    a <- fast_fit(se, normal)
    m <- SummarizedExperiment::assay(se, "counts")
    b <- fast_fit(m, normal)
    expect_identical(unclass(a)[, ], unclass(b)[, ])
    # assay.type (and its alias assay) mean nothing for a matrix: ignored, as documented
    expect_identical(unclass(fast_fit(m, normal, assay.type = "logcounts"))[, ], unclass(b)[, ])
    expect_identical(dim(calculateTwinPurify(m, normal, assay = "counts", nComponents = 2, hiddenDims = 8,
                                             projectorDims = 8, maxEpochs = 1, verbose = FALSE)), c(40L, 2L))
    expect_identical(rownames(b), colnames(se)[!normal])
    c <- fast_fit(m[, !normal], m[, normal])
    expect_equal(unclass(a)[, ], unclass(c)[, ], tolerance = 1e-5)
    sce <- methods::as(se, "SingleCellExperiment")
    expect_identical(unclass(fast_fit(sce, "sample_type"))[, ], unclass(a)[, ])
    holder <- altexp_holder(se)
    d <- fast_fit(holder, "sample_type", altexp = "genes")
    expect_identical(unclass(d)[, ], unclass(a)[, ])
    expect_error(fast_fit(holder, "sample_type", altexp = "nope"),
                 "'altexp' must name one alternative experiment of 'x' \\(genes\\), got nope")
})

test_that("integer engine parameters arrive as integers (nNetworks, dropMixingDims)", {
    skip_if_no_engine()
    se <- toy_se()
    model <- fitTwinPurify(se, "sample_type", nComponents = 3, nNetworks = 2, dropMixingDims = 1,
                           hiddenDims = 8, projectorDims = 8, maxEpochs = 1, verbose = FALSE)
    p <- twinPurifyParams(model)
    expect_identical(c(p$nNetworks, p$dropMixingDims), c(2L, 1L))
    expect_identical(ncol(predict(model, se)), 3L)
})

test_that("predict refuses unknown or misspelt arguments, naming them, instead of ignoring them", {
    skip_if_no_engine()
    se <- toy_se()
    model <- fit_small(se)
    expect_error(predict(model, se, assayType = "nonexistent"),
                 "predict\\(\\) got unknown argument\\(s\\) assayType; it takes newdata, assay.type, fillMissing")
    expect_error(predict(model, se, fill_missing = "mean", foo = 1), "unknown argument\\(s\\) fill_missing, foo")
    expect_error(predict(model, se, "counts", NULL, 3), "unknown argument\\(s\\) \\(unnamed\\)")
    expect_identical(dim(predict(model, se, assay.type = "counts", fillMissing = NULL)), c(ncol(se), 4L))
})

test_that("fitTwinPurify, runTwinPurify and predict read an alternative experiment as calculateTwinPurify does", {
    skip_if_no_engine()
    se <- toy_se()
    holder <- altexp_holder(se)
    genes <- SingleCellExperiment::altExp(holder, "genes")
    direct <- fit_small(se)
    viaAlt <- fitTwinPurify(holder, "sample_type", nComponents = 4, hiddenDims = 16, projectorDims = c(16, 16),
                            maxEpochs = 4, randomState = 2, verbose = FALSE, altexp = "genes")
    want <- predict(direct, se)
    expect_identical(predict(viaAlt, se), want)
    expect_identical(predict(direct, holder, altexp = "genes"), want)
    expect_identical(predict(direct, holder, altexp = 1), predict(direct, genes))
    sce <- runTwinPurify(holder, "sample_type", nComponents = 4, hiddenDims = 16, projectorDims = c(16, 16),
                         maxEpochs = 4, randomState = 2, verbose = FALSE, altexp = "genes")
    expect_identical(SingleCellExperiment::reducedDim(sce, "TwinPurify"), want)
    expect_identical(SingleCellExperiment::altExpNames(sce), "genes")
    # bad altexp values are refused before any fit, as elsewhere
    expect_altexp_refused(function(a) fitTwinPurify(holder, "sample_type", altexp = a))
    expect_altexp_refused(function(a) runTwinPurify(holder, "sample_type", altexp = a))
    expect_altexp_refused(function(a) predict(direct, holder, altexp = a), what = "newdata")
    expect_error(fitTwinPurify(se, "sample_type", altexp = "genes"), "'altexp' needs a SingleCellExperiment 'x'")
    expect_error(runTwinPurify(se, "sample_type", altexp = "genes"), "'altexp' needs a SingleCellExperiment 'x'")
    expect_error(predict(direct, se, altexp = "genes"), "'altexp' needs a SingleCellExperiment 'newdata'")
})
