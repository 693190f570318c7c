# Shared fixtures: the shipped toy cohort and fast engine settings.
skip_if_no_engine <- function() {
    if (!twinpurifyAvailable()) {
        # The set-up installs the engine; in CI a missing engine is a failure,
        # not a skip.
        if (nzchar(Sys.getenv("CI")) ||
            nzchar(Sys.getenv("TWINPURIFY_REQUIRE_ENGINE"))) {
            stop("twinpurify Python engine not available: ",
                suppressMessages(twinpurifyPython())$advice)
        }
        testthat::skip(paste("twinpurify Python engine not available",
            "(run twinpurify::installTwinPurify())"))
    }
}

# 40 tumors, 8 normals, 100 genes: the shipped data set (no Python needed),
# or a simulated one for other sizes and seeds.
toy_se <- function(nTumors = 40, nNormals = 8, nGenes = 100, seed = 1) {
    if (nTumors == 40 && nNormals == 8 && nGenes == 100 && seed == 1) {
        env <- new.env()
        utils::data("tpToyCohort", package = "twinpurify", envir = env)
        return(env$tpToyCohort)
    }
    simulateTwinPurifyCohort(nTumors = nTumors, nNormals = nNormals,
        nGenes = nGenes, seed = seed)
}

# A SingleCellExperiment with the colData of `se` whose genes sit in the
# alternative experiment "genes" (the main assay is a 2-gene placeholder).
altexp_holder <- function(se) {
    holder <- SingleCellExperiment::SingleCellExperiment(list(other = matrix(0, 2, ncol(se),
        dimnames = list(c("x", "y"), colnames(se)))), colData = SummarizedExperiment::colData(se))
    SingleCellExperiment::altExp(holder, "genes") <- SummarizedExperiment::SummarizedExperiment(
        list(counts = SummarizedExperiment::assay(se, "counts")))
    holder
}

# `call(altexp)` refuses every malformed `altexp` for an altexp_holder() given
# as the argument `what`, naming the alternative experiment it has.
expect_altexp_refused <- function(call, what = "x") {
    prefix <- sprintf("'altexp' must name one alternative experiment of '%s' \\(genes\\), got ", what)
    expect_error(call("gens"), paste0(prefix, "gens"))
    for (bad in list(2, 0, 1.5, NA, NA_character_, c("genes", "genes"), TRUE)) {
        expect_error(call(bad), prefix)
    }
    expect_error(call(character(0)), paste0(prefix, "nothing"))
}

fast_fit <- function(x, normal, ...) {
    twinPurify(x, normal, nComponents = 6, hiddenDims = 16,
        projectorDims = c(16, 16), maxEpochs = 3, randomState = 0,
        verbose = FALSE, ...)
}

# A line for an Rscript subprocess that loads this package the way the tests
# did: load_all() from source (testthat::test_local) or the installed copy
# (R CMD check).
load_line <- function() {
    path <- getNamespaceInfo("twinpurify", "path")
    if (file.exists(file.path(path, "DESCRIPTION")) &&
        length(list.files(file.path(path, "R"), pattern = "\\.R$"))) {
        sprintf("pkgload::load_all(%s, quiet = TRUE)", deparse(path))
    } else {
        "suppressPackageStartupMessages(library(twinpurify))"
    }
}

run_rscript <- function(lines, env = character(), wd = NULL) {
    script <- tempfile(fileext = ".R")
    writeLines(c(load_line(), lines), script)
    if (!is.null(wd)) {
        old <- setwd(wd)
        on.exit(setwd(old), add = TRUE)
    }
    # A Python started from R inherits R's LD_LIBRARY_PATH (see SETUP notes).
    suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), script,
        stdout = TRUE, stderr = TRUE, env = c("LD_LIBRARY_PATH=", env)))
}
