test_that("torch inside R uses its own BLAS: same products as a plain Python process", {
    skip_if_no_engine()
    twinpurifyAvailable()
    code <- paste("import torch, numpy as np",
                  "g = torch.Generator().manual_seed(0)",
                  "a = torch.randn(200, 333, generator=g); b = torch.randn(333, 77, generator=g)",
                  "res = (a @ b).numpy().astype(np.float64)", sep = "\n")
    in_r <- reticulate::py_to_r(reticulate::py_run_string(code, convert = FALSE)$res)
    out <- tempfile(fileext = ".npy")
    script <- tempfile(fileext = ".py")
    writeLines(c(code, sprintf("np.save(%s, res)", deparse(out))), script)
    # A Python started from R inherits R's LD_LIBRARY_PATH; clear it (see SETUP notes).
    status <- system2(reticulate::py_config()$python, script, env = "LD_LIBRARY_PATH=")
    expect_equal(status, 0)
    np <- reticulate::import("numpy")
    expect_identical(in_r, np$load(out))
})

test_that("twinpurifyPython reports the engine and says what to do when it is missing", {
    skip_if_no_engine()
    info <- suppressMessages(twinpurifyPython())
    expect_true(info$available)
    expect_match(info$engine, "^[0-9]+\\.[0-9]+")
    expect_identical(info$shipped, info$engine)
    expect_message(twinpurifyPython(), "twinpurify engine: ")
    # A fresh R process pointed at a Python that does not exist gets an actionable message.
    out <- run_rscript(c(
        "r <- tryCatch(fitTwinPurify(NULL, NULL), error = function(e) conditionMessage(e))",
        "cat(twinpurifyAvailable(), '\\n')",
        "cat(tryCatch(twinPurifyDefaults(), error = function(e) conditionMessage(e)), '\\n')"),
        env = "RETICULATE_PYTHON=/nonexistent/python")
    expect_true(any(grepl("FALSE", out)))
    expect_true(any(grepl("does not exist: /nonexistent/python.*installTwinPurify\\(\\)", out)))
    expect_true(any(grepl("^twinpurify: the Python named by RETICULATE_PYTHON", out)))  # prefixed once
    expect_false(any(grepl("twinpurify: twinpurify:", out)))
})

test_that("a folder named twinpurify in the working directory does not pass for the engine", {
    # any Python without torch will do (with numpy it gets as far as looking for the module)
    cands <- unique(Filter(nzchar, c(Sys.which("python3"), "/usr/bin/python3")))
    no_torch <- Filter(function(py) {
        file.exists(py) && system2(py, c("-c", shQuote("import torch")),
                                   stdout = FALSE, stderr = FALSE, env = "LD_LIBRARY_PATH=") != 0
    }, cands)
    skip_if(length(no_torch) == 0, "every Python here has torch; this test needs one without it")
    py <- no_torch[[1]]
    wd <- tempfile("wd")
    dir.create(file.path(wd, "twinpurify", "R"), recursive = TRUE)  # like an installed R package's folder
    out <- run_rscript(c("cat('first', twinpurifyAvailable(), '\\n')",
                         "cat('second', twinpurifyAvailable(), '\\n')",
                         "cat(suppressMessages(twinpurifyPython())$advice, '\\n')"),
                       env = c(paste0("RETICULATE_PYTHON=", py), "R_USER_DATA_DIR=/nonexistent"), wd = wd)
    expect_true(any(grepl("^first FALSE", out)), info = paste(out, collapse = "\n"))
    expect_true(any(grepl("^second FALSE", out)))
    expect_true(any(grepl("installTwinPurify", out)))
})

test_that("with the engine's dependencies, a look-alike folder is skipped and the real engine imported", {
    skip_if_no_engine()
    wd <- tempfile("wd")
    dir.create(file.path(wd, "twinpurify"), recursive = TRUE)
    out <- run_rscript(c("cat('ok', twinpurifyAvailable(), '\\n')",
                         "cat('from', suppressMessages(twinpurifyPython())$engineOrigin, '\\n')"),
                       env = paste0("RETICULATE_PYTHON=", reticulate::py_config()$python), wd = wd)
    expect_true(any(grepl("^ok TRUE", out)), info = paste(out, collapse = "\n"))
    origin <- sub("^from (.*) $", "\\1", grep("^from ", out, value = TRUE))
    expect_true(file.exists(origin))
    expect_false(startsWith(normalizePath(origin), normalizePath(wd)))
})

test_that("engine notes and warnings recorded before an interrupt or a restart are still signalled", {
    # as the engine's callbacks record them while Python runs (no engine needed)
    record <- twinpurify:::.engineCondition
    seen <- character()
    note <- function(text) seen <<- c(seen, text)
    handled <- function(expr) {
        withCallingHandlers(expr,
            warning = function(w) {
                note(conditionMessage(w))
                invokeRestart("muffleWarning")
            },
            message = function(m) {
                note(conditionMessage(m))
                invokeRestart("muffleMessage")
            })
    }
    interrupt <- structure(class = c("interrupt", "condition"), list(message = "", call = NULL))
    got <- handled(tryCatch(twinpurify:::.py({
        record(30, "a warning")
        record(20, "a note")
        signalCondition(interrupt)  # Ctrl-C while the engine runs
        "not reached"
    }), interrupt = function(i) note("interrupted")))
    expect_identical(seen, c("twinpurify: a warning", "a note\n", "interrupted"))
    expect_null(twinpurify:::.tp_state$pending)  # nothing left recorded, nothing recording
    seen <- character()
    got <- handled(withRestarts(twinpurify:::.py({
        record(20, "a note before the restart")
        invokeRestart("skip")
    }), skip = function() "skipped"))
    expect_identical(got, "skipped")
    expect_identical(seen, "a note before the restart\n")
    expect_null(twinpurify:::.tp_state$pending)
})
