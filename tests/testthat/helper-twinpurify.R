# Shared fixtures: a small simulated cohort and fast engine settings.
skip_if_no_engine <- function() {
    if (!twinpurifyAvailable()) {
        # The set-up installs the engine; in CI a missing engine is a failure, not a skip.
        if (nzchar(Sys.getenv("CI")) || nzchar(Sys.getenv("TWINPURIFY_REQUIRE_ENGINE"))) {
            stop("twinpurify Python engine not available: ", twinpurifyPython()$advice)
        }
        testthat::skip("twinpurify Python engine not available")
    }
}

toy_se <- function(nTumors = 40, nNormals = 8, nGenes = 100, seed = 1) {
    simulateTwinPurifyCohort(nTumors = nTumors, nNormals = nNormals, nGenes = nGenes, seed = seed)
}

fast_fit <- function(x, normal, ...) {
    twinPurify(x, normal, nComponents = 6, hiddenDims = 16, projectorDims = c(16, 16),
               maxEpochs = 3, randomState = 0, verbose = FALSE, ...)
}
