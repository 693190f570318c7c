# Issue 14, item 5: a model fitted out of core from the command line (the
# engine streams an .h5ad in blocks) is loaded in R and applied to a cohort
# with other genes through the usual gene matching and fill policy.
test_that("an out-of-core CLI fit loads in R and embeds an SE with other genes", {
    skip_if_no_engine()
    dir <- tempfile("tp-transfer-")
    dir.create(dir)
    on.exit(unlink(dir, recursive = TRUE), add = TRUE)
    py <- reticulate::py_config()$python
    script <- file.path(dir, "make.py")
    writeLines(c(
        "import sys, warnings",
        "import numpy as np",
        "from pathlib import Path",
        "from twinpurify import load_model",
        "from twinpurify.cli import main",
        "from twinpurify.datasets import simulate_cohort",
        "d = Path(sys.argv[1])",
        "c = simulate_cohort(n_tumors=150, n_normals=20, n_genes=200, seed=5)",
        "a = c.to_anndata()",
        "a.X = np.log2(a.X + 1)  # log2 input: the fill policy needs it",
        "a.write_h5ad(d / 'cohort.h5ad')",
        "assert main(['fit', '--input', str(d / 'cohort.h5ad'), '--out-of-core',",
        "             '--block-rows', '40', '--model', str(d / 'model'),",
        "             '--n-components', '4', '--epochs', '2', '--quiet']) == 0",
        "other = np.log2(c.tumors.iloc[:30, 5:] + 1)  # 30 tumors, 5 genes fewer",
        "other.T.to_csv(d / 'other.csv')",
        "with warnings.catch_warnings():",
        "    warnings.simplefilter('ignore')",
        "    ref = load_model(d / 'model').transform(other, fill_missing='mean')",
        "ref.to_csv(d / 'reference.csv')"
    ), script)
    status <- system2(py, c(script, dir), env = "LD_LIBRARY_PATH=")
    expect_identical(status, 0L)

    model <- loadTwinPurify(file.path(dir, "model"))
    expect_s4_class(model, "TwinPurifyModel")
    genes <- as.matrix(utils::read.csv(file.path(dir, "other.csv"),
        row.names = 1, check.names = FALSE))
    se <- SummarizedExperiment::SummarizedExperiment(list(expr = genes))
    # the model needs genes this cohort lacks: refused by default, filled
    # with the training means when asked
    expect_error(predict(model, se, assay.type = "expr"),
        "missing")
    emb <- suppressWarnings(predict(model, se,
        assay.type = "expr", fillMissing = "mean"))
    ref <- as.matrix(utils::read.csv(file.path(dir, "reference.csv"),
        row.names = 1, check.names = FALSE))
    expect_identical(rownames(emb), colnames(genes))
    expect_equal(unname(emb), unname(ref), tolerance = 1e-5)
    # the out-of-core fit keeps a readout with contamination directions, as
    # an in-memory fit does: purified expression needs no fitReadout()
    pe <- suppressWarnings(purifiedExpression(model, se, assay.type = "expr",
        fillMissing = "mean", residual = TRUE))
    expect_identical(colnames(pe), colnames(genes))
    expect_true(all(is.finite(SummarizedExperiment::assay(pe))))
})
