# One small fitted model shared by the pathway tests (fitting is the slow part).
pathway_fixture <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) {
            se <- toy_se(nGenes = 150)
            model <- fitTwinPurify(se, "sample_type", nComponents = 4, maxEpochs = 2, randomState = 0, verbose = FALSE)
            cache <<- list(model = model, tumors = se[, se$sample_type == "tumor"])
        }
        cache
    }
})

test_that("purifiedExpression returns an SE of the model's genes, equal to the engine's", {
    skip_if_no_engine()
    fx <- pathway_fixture()
    model <- fx$model
    tumors <- fx$tumors
    p <- purifiedExpression(model, tumors)
    expect_s4_class(p, "SummarizedExperiment")
    expect_identical(SummarizedExperiment::assayNames(p), "purified")
    expect_identical(colnames(p), colnames(tumors))
    expect_identical(rownames(p), twinPurifyGenes(model))
    expect_identical(p$sample_type, tumors$sample_type)
    # the same numbers as Python's purified_expression on the same samples
    py <- reticulate::py_to_r(twinPurifyEngine(model)$purified_expression(
        twinpurify:::.bridge()$samples_by_genes(SummarizedExperiment::assay(tumors), colnames(tumors), rownames(tumors))
    ))
    expect_equal(unname(SummarizedExperiment::assay(p)), unname(t(as.matrix(py))), tolerance = 1e-6)
    # saved and loaded: identical purified expression
    path <- file.path(withr_tmp <- tempfile(), "m")
    saveTwinPurify(model, path)
    again <- purifiedExpression(loadTwinPurify(path), tumors)
    expect_identical(SummarizedExperiment::assay(again), SummarizedExperiment::assay(p))
    # the residual form: the engine's too, flagged in the metadata, and it survives save/load
    r <- purifiedExpression(model, tumors, residual = TRUE)
    expect_true(S4Vectors::metadata(r)$residual)
    expect_false(S4Vectors::metadata(p)$residual)
    inp <- twinpurify:::.bridge()$samples_by_genes(SummarizedExperiment::assay(tumors), colnames(tumors),
                                                   rownames(tumors))
    py_r <- reticulate::py_to_r(twinPurifyEngine(model)$purified_expression(inp, residual = TRUE))
    expect_equal(unname(SummarizedExperiment::assay(r)), unname(t(as.matrix(py_r))), tolerance = 1e-6)
    expect_false(isTRUE(all.equal(SummarizedExperiment::assay(r), SummarizedExperiment::assay(p))))
    expect_identical(SummarizedExperiment::assay(purifiedExpression(loadTwinPurify(path), tumors, residual = TRUE)),
                     SummarizedExperiment::assay(r))
    unlink(withr_tmp, recursive = TRUE)
})

test_that("pathwayActivity scores gene sets given as a list, a data frame or a GMT file alike", {
    skip_if_no_engine()
    fx <- pathway_fixture()
    model <- fx$model
    tumors <- fx$tumors
    g <- twinPurifyGenes(model)
    sets <- list(A = g[1:10], B = g[11:25])
    act <- pathwayActivity(model, tumors, sets)
    expect_s4_class(act, "SummarizedExperiment")
    expect_identical(rownames(act), c("A", "B"))
    expect_identical(colnames(act), colnames(tumors))
    expect_identical(S4Vectors::metadata(act)$method, "ulm")
    expect_identical(SummarizedExperiment::rowData(act)$nGenes, c(10L, 15L))
    net <- data.frame(source = rep(c("A", "B"), c(10, 15)), target = g[1:25])
    gmt <- tempfile(fileext = ".gmt")
    writeLines(c(paste(c("A", "na", g[1:10]), collapse = "\t"), paste(c("B", "na", g[11:25]), collapse = "\t")), gmt)
    expect_equal(SummarizedExperiment::assay(pathwayActivity(model, tumors, net)), SummarizedExperiment::assay(act))
    expect_equal(SummarizedExperiment::assay(pathwayActivity(model, tumors, gmt)), SummarizedExperiment::assay(act))
    raw <- pathwayActivity(model, tumors, sets, method = "wmean", purified = FALSE)
    expect_false(S4Vectors::metadata(raw)$purified)
    res <- pathwayActivity(model, tumors, sets, residual = TRUE)
    expect_true(S4Vectors::metadata(res)$residual)
    expect_false(isTRUE(all.equal(SummarizedExperiment::assay(res), SummarizedExperiment::assay(act))))
    # wmean of the raw log2 profiles is the mean of the set's genes, by hand
    lg <- twinpurify:::.bridge()$samples_by_genes(SummarizedExperiment::assay(tumors), colnames(tumors),
                                                  rownames(tumors))
    lg <- reticulate::py_to_r(twinPurifyEngine(model)$log_expression(lg))
    expect_equal(unname(SummarizedExperiment::assay(raw)["A", ]), unname(rowMeans(as.matrix(lg)[, g[1:10]])),
                 tolerance = 1e-6)
    unlink(gmt)
})

test_that("pathwayActivity scores named character vectors by their values, not their names", {
    skip_if_no_engine()
    fx <- pathway_fixture()
    g <- twinPurifyGenes(fx$model)
    # as split() of AnnotationDbi::mapIds(..., column = "SYMBOL", keytype = "ENTREZID") gives them: the values are
    # the genes, the names the IDs they were mapped from (before: the names were scored, here matching no gene)
    named <- split(setNames(g[1:20], as.character(1000 + seq_len(20))), rep(c("A", "B"), 10))
    plain <- lapply(named, unname)
    got <- pathwayActivity(fx$model, fx$tumors, named, minSize = 5)
    want <- pathwayActivity(fx$model, fx$tumors, plain, minSize = 5)
    expect_identical(SummarizedExperiment::assay(got), SummarizedExperiment::assay(want))
    expect_identical(SummarizedExperiment::rowData(got)$nGenes, c(10L, 10L))
})

test_that("pathwayActivity refuses bad gene sets and arguments with clear messages", {
    skip_if_no_engine()
    fx <- pathway_fixture()
    model <- fx$model
    tumors <- fx$tumors
    g <- twinPurifyGenes(model)
    expect_error(pathwayActivity(model, tumors, list(g[1:5], g[6:10])), "named")
    # a name given twice (the engine takes a dict: all but the last set would be dropped), in a list or a GMT file
    expect_error(pathwayActivity(model, tumors, list(A = g[1:10], B = g[11:20], A = g[21:30])),
                 "gene sets named twice: A; give each set its own name")
    gmt <- tempfile(fileext = ".gmt")
    writeLines(c(paste(c("A", "na", g[1:10]), collapse = "\t"), paste(c("A", "na", g[11:20]), collapse = "\t")), gmt)
    expect_error(pathwayActivity(model, tumors, gmt), "line 2: gene set 'A' appears twice")
    unlink(gmt)
    expect_error(pathwayActivity(model, tumors, list(A = c(g[1], NA))), "without NA")
    expect_error(pathwayActivity(model, tumors, "no-such-file.gmt"), "does not exist")
    expect_error(pathwayActivity(model, tumors, data.frame(pathway = "A", gene = g[1])), "source and target")
    expect_error(pathwayActivity(model, tumors, 42), "GMT file path")
    expect_error(pathwayActivity(model, tumors, list(A = g[1:6]), method = "gsva"), "should be one of")
    expect_error(pathwayActivity(model, tumors, list(A = g[1:6]), minSize = 0), "minSize")
    expect_error(pathwayActivity(model, tumors, list(A = g[1:6]), purified = NA), "'purified' must be TRUE or FALSE")
    expect_error(pathwayActivity(model, tumors, list(A = c("X1", "X2"))), "Ensembl")
    expect_error(purifiedExpression("model", tumors), "TwinPurifyModel")
    expect_error(purifiedExpression(model, tumors, residual = "yes"), "'residual' must be TRUE or FALSE")
    expect_error(pathwayActivity(model, tumors, list(A = g[1:6]), residual = NA), "'residual' must be TRUE or FALSE")
    expect_error(pathwayActivity(model, tumors, list(A = g[1:6]), purified = FALSE, residual = TRUE),
                 "needs 'purified = TRUE'")
    expect_warning(pathwayActivity(model, tumors, list(A = g[1:6], SMALL = g[7:8])), "SMALL")
})

test_that("purifiedExpression and pathwayActivity warn about another scale than the model's, as predict does", {
    skip_if_no_engine()
    fx <- pathway_fixture()
    tumors <- fx$tumors
    cnt <- SummarizedExperiment::assay(tumors, "counts")
    SummarizedExperiment::assay(tumors, "logcounts") <- log2(t(t(cnt) / colSums(cnt)) * 1e6 + 1)
    msg <- "looks like log2 values but the model was fitted on counts"
    # before: only predict() warned; the gene-space outputs read the log2 assay as counts, silently
    expect_warning(purifiedExpression(fx$model, tumors, assay.type = "logcounts"), msg)
    expect_warning(pathwayActivity(fx$model, tumors, list(A = rownames(tumors)[1:10]), assay.type = "logcounts"),
                   msg)
    expect_no_warning(purifiedExpression(fx$model, tumors))
})

test_that("purifiedExpression and pathwayActivity read an alternative experiment and keep x's colData", {
    skip_if_no_engine()
    fx <- pathway_fixture()
    model <- fx$model
    tumors <- fx$tumors
    holder <- altexp_holder(tumors)
    for (residual in c(FALSE, TRUE)) {
        got <- purifiedExpression(model, holder, altexp = "genes", residual = residual)
        want <- purifiedExpression(model, tumors, residual = residual)
        expect_equal(SummarizedExperiment::assay(got), SummarizedExperiment::assay(want))
        expect_identical(SummarizedExperiment::colData(got), SummarizedExperiment::colData(holder))
    }
    sets <- split(rownames(tumors)[1:60], rep(c("A", "B", "C"), 20))
    act <- pathwayActivity(model, holder, sets, altexp = 1L)
    expect_equal(SummarizedExperiment::assay(act), SummarizedExperiment::assay(pathwayActivity(model, tumors, sets)))
    expect_identical(act$sample_type, tumors$sample_type)
    expect_error(purifiedExpression(model, holder, altexp = "gens"), "'altexp' must name one alternative")
    expect_error(pathwayActivity(model, tumors, altexp = "genes"), "'altexp' needs a SingleCellExperiment")
})

test_that("fitReadout adds missing contamination directions to a copy, from a column or a normal set", {
    skip_if_no_engine()
    fx <- pathway_fixture()
    model <- fx$model
    tumors <- fx$tumors
    se <- toy_se(nGenes = 150)
    # a model as saved before the residual form existed: a readout without contamination directions
    py <- twinpurify:::.bridge()$model_from_files(twinpurify:::.pyFiles(model@files))
    reticulate::py_set_attr(py$readout_, "directions", NULL)
    old <- twinpurify:::.newModel(py)
    expect_error(purifiedExpression(old, tumors, residual = TRUE), "fitReadout\\(model, x, normal\\)")
    fixed <- fitReadout(old, se, "sample_type")
    expect_s4_class(fixed, "TwinPurifyModel")
    expect_error(purifiedExpression(old, tumors, residual = TRUE), "fitReadout")  # the original is unchanged
    # refitted on the training tumors and normals: the readout the fit itself made
    want <- SummarizedExperiment::assay(purifiedExpression(model, tumors, residual = TRUE))
    expect_equal(SummarizedExperiment::assay(purifiedExpression(fixed, tumors, residual = TRUE)), want,
                 tolerance = 1e-5)
    normals <- se[, se$sample_type == "normal"]
    bySet <- fitReadout(old, tumors, normals)
    expect_equal(SummarizedExperiment::assay(purifiedExpression(bySet, tumors, residual = TRUE)), want,
                 tolerance = 1e-5)
    # the embedding is untouched, and the new model survives saveRDS
    expect_identical(predict(fixed, tumors), predict(model, tumors))
    rds <- tempfile(fileext = ".rds")
    saveRDS(fixed, rds)
    expect_equal(SummarizedExperiment::assay(purifiedExpression(readRDS(rds), tumors, residual = TRUE)), want,
                 tolerance = 1e-5)
    unlink(rds)
    # the other forms of 'normal': a logical vector; matrices, the normals' genes in another order
    byMask <- fitReadout(old, se, se$sample_type == "normal")
    expect_equal(SummarizedExperiment::assay(purifiedExpression(byMask, tumors, residual = TRUE)), want,
                 tolerance = 1e-5)
    tm <- SummarizedExperiment::assay(tumors)
    nmat <- SummarizedExperiment::assay(normals)
    byMatrix <- fitReadout(old, tm, nmat[rev(seq_len(nrow(nmat))), ])
    expect_equal(SummarizedExperiment::assay(purifiedExpression(byMatrix, tumors, residual = TRUE)), want,
                 tolerance = 1e-5)
    # a SingleCellExperiment holding the genes in an alternative experiment, the labels in its own colData
    holder <- altexp_holder(se)
    for (which in list("genes", 1)) {
        byAltExp <- fitReadout(old, holder, "sample_type", altexp = which)
        expect_equal(SummarizedExperiment::assay(purifiedExpression(byAltExp, tumors, residual = TRUE)), want,
                     tolerance = 1e-5)
    }
    expect_altexp_refused(function(a) fitReadout(old, holder, "sample_type", altexp = a))
    expect_error(fitReadout(old, se, "sample_type", altexp = "genes"), "'altexp' needs a SingleCellExperiment")
    # without normals: a readout, no directions
    plain <- fitReadout(old, tumors)
    expect_error(purifiedExpression(plain, tumors, residual = TRUE), "fitReadout")
    expect_equal(SummarizedExperiment::assay(purifiedExpression(plain, tumors)),
                 SummarizedExperiment::assay(purifiedExpression(model, tumors)), tolerance = 1e-5)
    # bad input, each named
    expect_error(fitReadout("model", se, "sample_type"), "'model' must be a TwinPurifyModel")
    expect_error(fitReadout(old, list(1, 2), "sample_type"), "'x'")
    expect_error(fitReadout(old, se, "no_such_column"), "is not a colData column of 'x'")
    expect_error(fitReadout(old, se, "sample_type", normalValue = "adjacent"), "no sample has sample_type")
    expect_error(fitReadout(old, se, normals), "samples given both as tumors and as normals")
    expect_error(fitReadout(old, tumors[, 1:2], normals), "at least 3 tumor samples")
    expect_error(fitReadout(old, tumors, normals[, 0]), "'normal' is empty")
    expect_error(fitReadout(old, tm, log2(nmat + 1)), "different scales")
    expect_warning(fitReadout(old, log2(tm + 1), log2(nmat + 1)), "looks like log2 values")
})
