# installTwinPurify(): its commands and checks, without network. The real
# download runs only with TWINPURIFY_TEST_INSTALL=1 (slow; needs PyPI).

test_that("the engine's Python code and requirements ship inside the package", {
    shipped <- twinpurify:::.shippedEngine()
    expect_true(file.exists(file.path(shipped, "twinpurify", "__init__.py")))
    expect_true(file.exists(file.path(shipped, "twinpurify", "_rbridge.py")))
    expect_match(twinpurify:::.shippedVersion(), "^[0-9]+\\.[0-9]+")
    reqs <- readLines(file.path(shipped, "requirements.txt"))
    reqs <- reqs[!grepl("^\\s*(#|$)", reqs)]
    expect_true("numpy>=1.23,<2" %in% reqs)
    # every engine dependency but torch (installed first, CPU or CUDA), and the
    # "pathways" extra (pathwayActivity()), is in requirements.txt
    toml <- file.path(test_path("..", ".."), "pyproject.toml")
    skip_if_not(file.exists(toml), "pyproject.toml is not in the built package")
    txt <- paste(readLines(toml), collapse = "\n")
    deps <- regmatches(txt, regexpr("dependencies = \\[[^]]*\\]", txt))
    names <- gsub("\"|[<>=].*", "", regmatches(deps, gregexpr("\"[^\"]+\"", deps))[[1]])
    extra <- regmatches(txt, regexpr("\npathways = \\[[^]]*\\]", txt))
    names <- c(names, gsub("\"|[<>=].*", "", regmatches(extra, gregexpr("\"[^\"]+\"", extra))[[1]]))
    expect_setequal(setdiff(names, "torch"), gsub("[<>=,].*", "", reqs))
})

test_that("installTwinPurify builds venv, torch (CPU by default) and pinned-dependency commands", {
    env <- file.path(tempdir(), "tp env")
    cmds <- installTwinPurify(envDir = env, python = "/usr/bin/python3", dryRun = TRUE)
    expect_identical(names(cmds), c("venv", "torch", "deps", "check"))
    expect_identical(cmds$venv, c("/usr/bin/python3", "-m", "venv", env))
    envpy <- file.path(env, "bin", "python")
    expect_identical(cmds$torch, c(envpy, "-m", "pip", "install", "--disable-pip-version-check", "torch==2.13.0"))
    expect_identical(cmds$deps[6:7], c("-r", file.path(twinpurify:::.shippedEngine(), "requirements.txt")))
    expect_match(cmds$check[3], "import twinpurify, torch")
    cuda <- installTwinPurify(envDir = env, python = "python3", torch = "torch==2.13.0",
                              torchIndexUrl = "https://download.example.org/whl/cu126",
                              extraPackages = c("anndata"), dryRun = TRUE)
    expect_identical(utils::tail(cuda$torch, 2), c("--index-url", "https://download.example.org/whl/cu126"))
    expect_identical(utils::tail(cuda$extra, 1), "anndata")
})

test_that("the default environment lives under R_user_dir and is found without environment variables", {
    data_dir <- tempfile("userdata")
    withr::local_envvar(R_USER_DATA_DIR = data_dir, RETICULATE_PYTHON = NA)
    withr::local_options(twinpurify.python = NULL, twinpurify.envdir = NULL)
    expect_identical(twinpurify:::.envDirDefault(),
                     file.path(tools::R_user_dir("twinpurify", "data"), "python-env"))
    expect_true(startsWith(twinpurify:::.envDirDefault(), data_dir))
    expect_identical(twinpurify:::.findPython()$source, "reticulate default")
    py <- file.path(twinpurify:::.envDirDefault(), "bin", "python")
    dir.create(dirname(py), recursive = TRUE)
    file.create(py)
    expect_identical(twinpurify:::.findPython(), list(path = py, source = "installTwinPurify()"))
    withr::local_options(twinpurify.python = "/opt/py/bin/python")
    expect_identical(twinpurify:::.findPython()$source, "option twinpurify.python")
    withr::local_envvar(RETICULATE_PYTHON = "/x/python")
    expect_identical(twinpurify:::.findPython()$path, "/x/python")
})

test_that("installTwinPurify refuses bad arguments and never clobbers a folder that is not an environment", {
    expect_error(installTwinPurify(envDir = c("a", "b"), dryRun = TRUE), "'envDir' must be a single folder path")
    expect_error(installTwinPurify(envDir = "x", torch = NA_character_, dryRun = TRUE), "'torch' must be")
    expect_error(installTwinPurify(envDir = "x", torchIndexUrl = 1, dryRun = TRUE), "'torchIndexUrl' must be")
    expect_error(installTwinPurify(envDir = "x", python = NA_character_, dryRun = TRUE), "no Python found")
    expect_error(installTwinPurify(envDir = "x", python = "/nonexistent/python3"), "does not exist")
    dir <- tempfile("notenv")
    dir.create(dir)
    writeLines("keep", file.path(dir, "notes.txt"))
    py <- Sys.which("python3")
    skip_if(!nzchar(py), "no python3 on PATH")
    expect_error(installTwinPurify(envDir = dir, python = py), "exists but is not a Python environment")
    expect_identical(readLines(file.path(dir, "notes.txt")), "keep")
    # reinstall deletes only a folder venv made: a python inside is not enough
    dir.create(file.path(dir, "bin"))
    file.create(file.path(dir, "bin", "python"))
    expect_error(installTwinPurify(envDir = dir, python = py, reinstall = TRUE),
                 "exists but is not a Python environment")
    expect_identical(readLines(file.path(dir, "notes.txt")), "keep")
})

test_that("installTwinPurify really installs a working engine (slow, downloads from PyPI)", {
    skip_if_not(identical(Sys.getenv("TWINPURIFY_TEST_INSTALL"), "1"),
                "set TWINPURIFY_TEST_INSTALL=1 to download and install the engine")
    env <- file.path(tempfile("tpenv"), "env")
    suppressMessages(installTwinPurify(envDir = env))
    out <- run_rscript(c(sprintf("options(twinpurify.envdir = %s)", deparse(env)),
                         "info <- suppressMessages(twinpurifyPython())",
                         "cat('source', info$source, '\\n')",
                         "data(tpToyCohort, package = 'twinpurify')",
                         paste("emb <- twinPurify(tpToyCohort, 'sample_type', nComponents = 4,",
                               "maxEpochs = 2, verbose = FALSE)"),
                         "cat('dim', dim(emb), '\\n')"),
                       env = c("RETICULATE_PYTHON=", "PYTHONPATH="))
    expect_true(any(grepl("^source installTwinPurify\\(\\)", out)), info = paste(out, collapse = "\n"))
    expect_true(any(grepl("^dim 40 4", out)), info = paste(out, collapse = "\n"))
})
