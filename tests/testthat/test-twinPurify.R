test_that("twinPurify returns a tumors x dimensions matrix named after the tumor columns", {
    skip_if_no_engine()
    se <- toy_se()
    normal <- se$sample_type == "normal"
    emb <- fast_fit(se, normal)
    expect_true(is.matrix(emb) && is.numeric(emb))
    expect_identical(dim(emb), c(40L, 6L))
    expect_identical(rownames(emb), colnames(se)[!normal])
    expect_identical(colnames(emb), paste0("TP", 1:6))
    expect_s4_class(attr(emb, "model"), "TwinPurifyModel")
    expect_true(all(is.finite(emb)))
})

test_that("normal can be logical, a colData column, or a SummarizedExperiment of normals", {
    skip_if_no_engine()
    se <- toy_se()
    normal <- se$sample_type == "normal"
    a <- fast_fit(se, normal)
    b <- fast_fit(se, "sample_type", normalValue = "normal")
    c <- fast_fit(se[, !normal], se[, normal])
    d <- fast_fit(se, factor(se$sample_type))
    expect_equal(unclass(a)[, ], unclass(b)[, ], ignore_attr = TRUE)
    expect_equal(unclass(a)[, ], unclass(d)[, ], ignore_attr = TRUE)
    expect_equal(unclass(a)[, ], unclass(c)[, ], ignore_attr = TRUE, tolerance = 1e-5)
})

test_that("a named 'normal' vector is matched to the samples by name, not position", {
    skip_if_no_engine()
    se <- toy_se()
    rev_se <- se[, rev(seq_len(ncol(se)))]
    want <- fast_fit(rev_se, rev_se$sample_type == "normal")
    # built on se's column order, applied to the reversed columns
    named <- stats::setNames(se$sample_type == "normal", colnames(se))
    got <- fast_fit(rev_se, named)
    expect_identical(rownames(got), colnames(rev_se)[rev_se$sample_type == "tumor"])
    expect_identical(unclass(got)[, ], unclass(want)[, ])
    labels <- stats::setNames(se$sample_type, colnames(se))
    expect_identical(unclass(fast_fit(rev_se, labels))[, ], unclass(want)[, ])
    expect_identical(unclass(fast_fit(rev_se, factor(labels)))[, ], unclass(want)[, ])
})

test_that("calculateTwinPurify equals twinPurify; hyper-parameters pass through", {
    skip_if_no_engine()
    se <- toy_se()
    a <- fast_fit(se, "sample_type")
    b <- calculateTwinPurify(se, "sample_type", nComponents = 6, hiddenDims = 16, projectorDims = c(16, 16),
                             maxEpochs = 3, randomState = 0, verbose = FALSE)
    expect_equal(a, b, ignore_attr = TRUE)
    m <- attr(a, "model")
    expect_equal(m@info$params$n_components, 6)
    expect_equal(m@info$params$hidden_dims, 16L)
    expect_equal(m@info$epochs, 3)
    defaults <- twinPurifyDefaults()
    expect_equal(defaults$n_components, 16)
    expect_equal(defaults$encoder_input, "pca")
    expect_equal(defaults$input_scale, "auto")
})

test_that("runTwinPurify stores a reducedDim for every column and the model in metadata", {
    skip_if_no_engine()
    se <- toy_se()
    sce <- runTwinPurify(se, "sample_type", nComponents = 5, maxEpochs = 2, verbose = FALSE, name = "TP")
    expect_s4_class(sce, "SingleCellExperiment")
    rd <- SingleCellExperiment::reducedDim(sce, "TP")
    expect_identical(dim(rd), c(ncol(se), 5L))
    expect_identical(rownames(rd), colnames(se))
    expect_s4_class(S4Vectors::metadata(sce)$TP, "TwinPurifyModel")
    expect_error(runTwinPurify(se, se[, 1:3]), "must mark columns")
})

test_that("assays: integer counts, log values, dgCMatrix, DelayedArray and data frames", {
    skip_if_no_engine()
    se <- toy_se()
    base <- fast_fit(se, "sample_type")
    m <- SummarizedExperiment::assay(se)
    expect_true(is.integer(m))
    SummarizedExperiment::assay(se, "logcpm") <- log2(t(t(m) / colSums(m)) * 1e6 + 1)
    lg <- fast_fit(se, "sample_type", assay = "logcpm")
    expect_equal(unclass(base), unclass(lg), tolerance = 1e-3, ignore_attr = TRUE)
    skip_if_not_installed("Matrix")
    sp <- se
    SummarizedExperiment::assay(sp, "counts") <- methods::as(m * 1.0, "CsparseMatrix")
    expect_equal(unclass(fast_fit(sp, "sample_type")), unclass(base), tolerance = 1e-6, ignore_attr = TRUE)
    skip_if_not_installed("DelayedArray")
    da <- se
    SummarizedExperiment::assay(da, "counts", withDimnames = FALSE) <- DelayedArray::DelayedArray(m)
    expect_equal(unclass(fast_fit(da, "sample_type")), unclass(base), tolerance = 1e-6, ignore_attr = TRUE)
})

test_that("fitted models predict other cohorts by gene name and save/load across the format", {
    skip_if_no_engine()
    se <- toy_se()
    model <- fitTwinPurify(se, "sample_type", nComponents = 4, maxEpochs = 2, randomState = 3, verbose = FALSE)
    expect_output(show(model), "TwinPurifyModel: 4 dimensions from 100 genes")
    other <- toy_se(seed = 9)
    z <- predict(model, other[rev(seq_len(nrow(other))), ])
    expect_identical(rownames(z), colnames(other))
    expect_equal(z, predict(model, other))
    expect_error(predict(model, other[-(1:3), ]), "3 of the model's 100 genes are missing: G0001")
    filledCounts <- predict(model, other[-(1:3), ], fillMissing = "mean")
    expect_identical(dim(filledCounts), c(ncol(other), 4L))
    expect_true(all(is.finite(filledCounts)))
    logged <- function(x) {
        SummarizedExperiment::assay(x, "log") <- log2(SummarizedExperiment::assay(x) + 1)
        x
    }
    lmodel <- fitTwinPurify(logged(se), "sample_type", assay = "log", nComponents = 4, maxEpochs = 2, verbose = FALSE)
    filled <- predict(lmodel, logged(other)[-(1:3), ], assay = "log", fillMissing = "mean")
    expect_identical(dim(filled), c(ncol(other), 4L))
    expect_true(all(is.finite(filled)))
    path <- file.path(tempfile("tp"), "model")
    saveTwinPurify(model, path)
    expect_setequal(list.files(path), c("config.json", "weights.safetensors"))
    expect_error(saveTwinPurify(model, path), "exists; pass overwrite = TRUE")
    again <- loadTwinPurify(path)
    expect_identical(predict(again, other), predict(model, other))
    expect_error(loadTwinPurify(file.path(path, "nope")), "no model folder")
})

test_that("simulateTwinPurifyCohort: normalLikeness adds its truth column and is validated in R", {
    expect_error(simulateTwinPurifyCohort(normalLikeness = 1.5),
                 "'normalLikeness' must be one number between 0 and 1, not 1.5")
    expect_error(simulateTwinPurifyCohort(normalLikeness = c(0.1, 0.2)), "'normalLikeness' must be one number")
    expect_error(simulateTwinPurifyCohort(normalLikeness = NA_real_), "'normalLikeness' must be one number")
    skip_if_no_engine()
    plain <- simulateTwinPurifyCohort(nTumors = 20, nNormals = 5, nGenes = 60, seed = 2)
    liked <- simulateTwinPurifyCohort(nTumors = 20, nNormals = 5, nGenes = 60, seed = 2, normalLikeness = 0.8)
    expect_false("normal_likeness" %in% names(SummarizedExperiment::colData(plain)))
    nl <- SummarizedExperiment::colData(liked)$normal_likeness
    tumor <- liked$sample_type == "tumor"
    expect_true(all(nl[tumor] >= 0 & nl[tumor] <= 1) && all(is.na(nl[!tumor])))
    expect_equal(liked$purity, plain$purity)  # the same composition draws
})
