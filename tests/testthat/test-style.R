test_that("R code, tests and vignette are lint-free under the repository's .lintr", {
    root <- test_path("..", "..")
    skip_if_not(file.exists(file.path(root, ".lintr")), "not a source checkout (.lintr is not in the tarball)")
    if (!requireNamespace("lintr", quietly = TRUE)) {
        if (nzchar(Sys.getenv("CI"))) {
            stop("lintr is not installed (Debian: r-cran-lintr; scripts/setup.sh installs it)")
        }
        skip("lintr is not installed")
    }
    lints <- lintr::lint_package(root)
    found <- vapply(lints, function(l) sprintf("%s:%d %s", basename(l$filename), l$line_number, l$message),
                    character(1))
    expect(length(found) == 0, paste(c("lints:", found), collapse = "\n"))
})
