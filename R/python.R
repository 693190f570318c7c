# Finding Python and the twinpurify engine, and turning engine errors into plain R errors.

.tp_state <- new.env(parent = emptyenv())

#' Which Python and which twinpurify engine the package uses
#'
#' The engine is found in this order: the `RETICULATE_PYTHON` environment
#' variable, the R option `twinpurify.python`, a `.venv` folder (made by the
#' repository's `scripts/setup.sh`) in the working directory or one of its
#' parents, then whatever Python reticulate would pick. basilisk is not used:
#' it downloads Miniconda at run time, which offline machines cannot do.
#'
#' @return A list with `python` (path or `NA`), `source` (how it was found),
#'   `available` (logical), `engine` (the twinpurify version or `NA`),
#'   `torch`, `numpy` and `cuda` (versions/availability, when importable) and
#'   `advice` (what to run when something is missing), invisibly; a summary is
#'   printed.
#' @examples
#' twinpurifyPython()
#' @export
twinpurifyPython <- function() {
    found <- .findPython()
    res <- list(python = found$path %||% NA_character_, source = found$source,
                available = FALSE, engine = NA_character_, torch = NA_character_,
                numpy = NA_character_, cuda = NA, advice = NA_character_)
    mod <- tryCatch(.tpModule(), error = function(e) e)
    if (inherits(mod, "error")) {
        res$advice <- conditionMessage(mod)
    } else {
        cfg <- reticulate::py_config()
        res$python <- cfg$python
        res$available <- TRUE
        res$engine <- reticulate::py_to_r(mod$`__version__`)
        torch <- reticulate::import("torch")
        res$torch <- torch$`__version__`
        res$numpy <- reticulate::import("numpy")$`__version__`
        res$cuda <- torch$cuda$is_available()
    }
    message("python: ", res$python, " (", res$source, ")\n",
            "twinpurify engine: ", if (res$available) res$engine else "NOT AVAILABLE",
            if (res$available) paste0(", torch ", res$torch, ", numpy ", res$numpy,
                                      ", CUDA ", if (isTRUE(res$cuda)) "yes" else "no") else "",
            if (!res$available) paste0("\n", res$advice) else "")
    invisible(res)
}

#' Is the twinpurify Python engine importable?
#'
#' @return `TRUE` or `FALSE`, never an error; use it to guard examples.
#' @examples
#' twinpurifyAvailable()
#' @export
twinpurifyAvailable <- function() {
    !inherits(tryCatch(.tpModule(), error = function(e) e), "error")
}

`%||%` <- function(a, b) if (is.null(a)) b else a

.findPython <- function() {
    env <- Sys.getenv("RETICULATE_PYTHON", "")
    if (nzchar(env)) return(list(path = env, source = "RETICULATE_PYTHON"))
    opt <- getOption("twinpurify.python")
    if (!is.null(opt)) return(list(path = opt, source = "option twinpurify.python"))
    dir <- normalizePath(getwd(), mustWork = FALSE)
    for (i in 1:4) {
        cand <- file.path(dir, ".venv", "bin", "python")
        if (file.exists(cand)) return(list(path = cand, source = paste0(".venv in ", dir)))
        parent <- dirname(dir)
        if (identical(parent, dir)) break
        dir <- parent
    }
    list(path = NULL, source = "reticulate default")
}

.missingAdvice <- paste(
    "Install the engine with the repository's set-up (`make setup`, or `bash scripts/setup.sh`)",
    "and point R at it: Sys.setenv(RETICULATE_PYTHON = \"<checkout>/.venv/bin/python\")",
    "before loading twinpurify (or options(twinpurify.python = ...)).")

# The engine module, imported once; errors say what is missing and what to run.
.tpModule <- function() {
    if (!is.null(.tp_state$mod)) return(.tp_state$mod)
    found <- .findPython()
    if (!reticulate::py_available(initialize = FALSE) && !is.null(found$path)) {
        if (!file.exists(found$path)) {
            .abort("the Python named by ", found$source, " does not exist: ",
                 found$path, ". ", .missingAdvice)
        }
        ok <- tryCatch({ reticulate::use_python(found$path, required = TRUE); TRUE },
                       error = function(e) conditionMessage(e))
        if (!isTRUE(ok)) .abort("cannot use Python ", found$path, ": ", ok)
    }
    # Before anything imports torch (py_module_available() imports the module it checks).
    tryCatch(.preloadTorch(), error = function(e) NULL)
    avail <- tryCatch(reticulate::py_module_available("twinpurify"), error = function(e) FALSE)
    if (!isTRUE(avail)) {
        py <- tryCatch(reticulate::py_config()$python, error = function(e) "none found")
        .abort("the Python module 'twinpurify' is not importable from Python '", py,
             "'. ", .missingAdvice)
    }
    .tp_state$mod <- reticulate::import("twinpurify", convert = FALSE)
    .tp_state$bridge <- reticulate::import("twinpurify._rbridge", convert = FALSE)
    # The engine, as a library, attaches no log handler; an interactive R session wants its notes.
    .tp_state$mod$settings$verbosity <- 2L
    .tp_state$mod
}

# R links the reference BLAS (libblas.so.3) into its global symbol scope. libtorch exports its own
# MKL sgemm_, but inside R's process the dynamic linker binds torch's calls to R's BLAS first:
# matrix products then run about 20x slower and round differently from the same code in Python.
# Loading torch with RTLD_DEEPBIND makes it bind to its own symbols first (measured: Python's speed,
# bit-identical results). Only torch's own libraries are loaded that way; flags are restored.
.preloadTorch <- function() {
    reticulate::py_run_string(paste(
        "import os as _os, sys as _sys",
        "if 'torch' not in _sys.modules and hasattr(_os, 'RTLD_DEEPBIND'):",
        "    _flags = _sys.getdlopenflags()",
        "    _sys.setdlopenflags(_flags | _os.RTLD_DEEPBIND)",
        "    try:",
        "        import torch",
        "    finally:",
        "        _sys.setdlopenflags(_flags)",
        sep = "\n"), convert = FALSE)
    invisible(NULL)
}

.bridge <- function() {
    .tpModule()
    .tp_state$bridge
}

# Run a call into Python; a Python exception becomes an R error carrying the engine's own
# message, without reticulate's traceback noise.
.py <- function(expr) {
    # One handler: with two, R nests them and a re-raise from the first lands in the second.
    tryCatch(expr, error = function(e) if (inherits(e, "twinpurify_error")) stop(e) else .abort(.pyMessage(e)))
}

# Call into Python and convert the result to R. The call is forced before py_to_r(), which would
# otherwise initialise Python first and bypass the engine's own missing-Python message.
.pyr <- function(expr) {
    value <- .py(expr)
    reticulate::py_to_r(value)
}

.pyMessage <- function(e) {
    msg <- conditionMessage(e)
    msg <- sub("\n*(Detailed traceback|Run `reticulate::py_last_error\\(\\)`).*$", "", msg)
    msg <- sub("^Error in py_call_impl\\(.*?\\) *:? *\n? *", "", msg)
    msg <- sub(paste0("^[A-Za-z_.]*(InputError|ValueError|TypeError|RuntimeError|FileNotFoundError|FileExistsError|",
                      "NotFittedError|ParameterError|ModelFormatError): "), "", msg)
    if (grepl("is not allowed:", msg, fixed = TRUE)) {
        # the engine's parameter schema names snake_case keywords; R users passed camelCase arguments
        msg <- gsub("\\b([a-z]+)_([a-z])([a-z0-9]*)_?([a-z]?)", "\\1\\U\\2\\E\\3\\U\\4", msg, perl = TRUE)
    }
    trimws(msg)
}
