# Finding Python and the twinpurify engine, and turning engine errors into
# plain R errors.

.tp_state <- new.env(parent = emptyenv())

#' Which Python and which twinpurify engine the package uses
#'
#' The Python is chosen in this order: the `RETICULATE_PYTHON` environment
#' variable, the R option `twinpurify.python`, the environment made by
#' [installTwinPurify()] (under [tools::R_user_dir()], or the option
#' `twinpurify.envdir`), then whatever Python reticulate would pick. The
#' engine's Python code ships inside this package; when the chosen Python
#' does not have the engine installed, the shipped copy is used (its
#' dependencies, such as torch, must be installed in that Python).
#'
#' @return A list with `python` (path or `NA`), `source` (how it was found),
#'   `available` (logical), `engine` (the engine version in use or `NA`),
#'   `engineOrigin` (where the engine was imported from), `shipped` (the
#'   version of the engine shipped with this package), `torch`, `numpy` and
#'   `cuda` (versions/availability, when importable) and `advice` (what to do
#'   when something is missing), invisibly; a summary is shown as a message.
#' @seealso [installTwinPurify()] to set the engine up.
#' @examples
#' info <- twinpurifyPython()
#' info$available
#' @export
twinpurifyPython <- function() {
    found <- .findPython()
    res <- list(python = found$path %||% NA_character_,
        source = found$source, available = FALSE,
        engine = NA_character_, engineOrigin = NA_character_,
        shipped = .shippedVersion(), torch = NA_character_,
        numpy = NA_character_, cuda = NA, advice = NA_character_)
    mod <- tryCatch(.tpModule(), error = function(e) e)
    if (inherits(mod, "error")) {
        res$advice <- conditionMessage(mod)
    } else {
        res$python <- reticulate::py_config()$python
        res$available <- TRUE
        res$engine <- reticulate::py_to_r(mod$`__version__`)
        res$engineOrigin <- reticulate::py_to_r(mod$`__file__`)
        torch <- reticulate::import("torch")
        res$torch <- torch$`__version__`
        res$numpy <- reticulate::import("numpy")$`__version__`
        res$cuda <- torch$cuda$is_available()
    }
    message(.pythonSummary(res))
    invisible(res)
}

.pythonSummary <- function(res) {
    head <- paste0("python: ", res$python, " (", res$source, ")\n",
        "twinpurify engine: ")
    if (!res$available) {
        return(paste0(head, "NOT AVAILABLE (shipped engine ", res$shipped,
            ")\n", res$advice))
    }
    paste0(head, res$engine, " from ", res$engineOrigin, "\n",
        "torch ", res$torch, ", numpy ", res$numpy, ", CUDA ",
        if (isTRUE(res$cuda)) "yes" else "no")
}

#' Is the twinpurify Python engine importable?
#'
#' Checks that the engine imports as a real Python package (a folder that
#' merely carries the name, such as an installed R package's own folder, does
#' not count) with its dependencies.
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
    if (!is.null(opt)) {
        return(list(path = opt, source = "option twinpurify.python"))
    }
    managed <- .envPython(.envDirDefault())
    if (file.exists(managed)) {
        return(list(path = managed, source = "installTwinPurify()"))
    }
    list(path = NULL, source = "reticulate default")
}

# The engine's Python source shipped in this package (inst/python).
.shippedEngine <- function() {
    system.file("python", package = "twinpurify")
}

.shippedVersion <- function() {
    f <- file.path(.shippedEngine(), "twinpurify", "_version.py")
    if (!file.exists(f)) return(NA_character_)
    line <- grep("^__version__", readLines(f, warn = FALSE), value = TRUE)
    sub(".*[\"']([^\"']+)[\"'].*", "\\1", line[1])
}

# Python side of the availability check: a real package (an __init__.py),
# never a namespace package made of a folder that happens to be called
# twinpurify; falls back to the shipped engine; reports import errors.
.probeCode <- paste(
    "def _twinpurify_probe(shipped):",
    "    import importlib, importlib.util, sys",
    "    def real(spec):",
    "        o = getattr(spec, 'origin', None) if spec else None",
    "        return bool(o) and o.endswith('__init__.py')",
    "    mod = sys.modules.get('twinpurify')",
    "    if mod is not None and not getattr(mod, '__file__', None):",
    "        del sys.modules['twinpurify']",
    "    spec = importlib.util.find_spec('twinpurify')",
    "    if not real(spec) and shipped and shipped not in sys.path:",
    "        sys.path.insert(0, shipped)",
    "        importlib.invalidate_caches()",
    "        spec = importlib.util.find_spec('twinpurify')",
    "    if not real(spec):",
    "        return ('no Python package twinpurify'",
    "                ' (only a folder of that name)')",
    "    try:",
    "        mod = importlib.import_module('twinpurify')",
    "        importlib.import_module('twinpurify._rbridge')",
    "    except Exception as e:",
    "        sys.modules.pop('twinpurify', None)",
    "        return 'importing twinpurify failed: %s: %s' % (",
    "            type(e).__name__, e)",
    "    return ''",
    sep = "\n")

.usePython <- function(found) {
    # reticulate ignores use_python() while RETICULATE_PYTHON is set, even to
    # "" (which .findPython() treats as unset)
    if (identical(Sys.getenv("RETICULATE_PYTHON", NA), "")) {
        Sys.unsetenv("RETICULATE_PYTHON")
    }
    if (reticulate::py_available(initialize = FALSE) || is.null(found$path)) {
        return(invisible())
    }
    if (!file.exists(found$path)) {
        .abort("the Python named by ", found$source, " does not exist: ",
            found$path, ". ", .missingAdvice())
    }
    ok <- tryCatch({
        reticulate::use_python(found$path, required = TRUE)
        TRUE
    }, error = function(e) conditionMessage(e))
    if (!isTRUE(ok)) .abort("cannot use Python ", found$path, ": ", ok)
    invisible()
}

# The engine module, imported once; errors say what is missing and what to
# do.
.tpModule <- function() {
    if (!is.null(.tp_state$mod)) return(.tp_state$mod)
    .usePython(.findPython())
    if (!isTRUE(tryCatch(reticulate::py_numpy_available(initialize = TRUE),
        error = function(e) FALSE))) {
        py <- tryCatch(reticulate::py_config()$python,
            error = function(e) "none found")
        .abort("Python '", py, "' has no usable numpy. ", .missingAdvice())
    }
    # Before anything imports torch.
    tryCatch(.preloadTorch(), error = function(e) NULL)
    main <- reticulate::py_run_string(.probeCode, convert = FALSE)
    problem <- reticulate::py_to_r(main$`_twinpurify_probe`(.shippedEngine()))
    if (nzchar(problem)) {
        py <- reticulate::py_config()$python
        .abort("the twinpurify engine is not usable from Python '", py,
            "': ", problem, ". ", .missingAdvice())
    }
    mod <- reticulate::import("twinpurify", convert = FALSE)
    bridge <- reticulate::import("twinpurify._rbridge", convert = FALSE)
    # Engine notes become R messages (suppressMessages() works on them).
    bridge$route_logs(.engineCondition)
    .tp_state$bridge <- bridge
    .tp_state$mod <- mod
    mod
}

# R links the reference BLAS (libblas.so.3) into its global symbol scope.
# libtorch exports its own MKL sgemm_, but inside R's process the dynamic
# linker binds torch's calls to R's BLAS first: matrix products then run about
# 20x slower and round differently from the same code in Python. Loading
# torch with RTLD_DEEPBIND makes it bind to its own symbols first (measured:
# Python's speed, bit-identical results). Only torch's own libraries are
# loaded that way; flags are restored.
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

# Run a call into Python; a Python exception becomes an R error carrying the
# engine's own message, without reticulate's traceback noise. Engine notes and
# warnings raised meanwhile are recorded (see .engineCondition()) and
# signalled here, in order, once Python has returned, so no R handler ever
# unwinds through a Python frame; when the call fails they come before the
# error, as they came before it in the engine. Any other way out (an
# interrupt, a restart such as "abort") signals them on the way, so none is
# lost. `labels` maps the engine's names for the data ("X", "normal") to the
# R arguments they came from.
.py <- function(expr, labels = .dataLabels()) {
    outer <- .tp_state$pending
    .tp_state$pending <- list()
    on.exit({
        left <- .takePending()
        .tp_state$pending <- outer
        .signalEngine(left, labels)
    }, add = TRUE)
    # One handler: with two, R nests them and a re-raise from the first lands
    # in the second.
    value <- tryCatch(expr, error = function(e) {
        .signalEngine(.takePending(), labels)
        if (inherits(e, "twinpurify_error")) stop(e) else
            .abort(.pyMessage(e, labels))
    })
    value  # what is still recorded is signalled by on.exit, before the caller gets it
}

# The conditions recorded by the current .py() call, which then holds none.
.takePending <- function() {
    conds <- .tp_state$pending
    .tp_state$pending <- list()
    conds
}

# Call into Python and convert the result to R. The call is forced before
# py_to_r(), which would otherwise initialise Python first and bypass the
# engine's own missing-Python message.
.pyr <- function(expr, labels = .dataLabels()) {
    value <- .py(expr, labels)
    reticulate::py_to_r(value)
}

.pyMessage <- function(e, labels = NULL) {
    msg <- conditionMessage(e)
    noise <- "\n*(Detailed traceback|Run `reticulate::py_last_error\\(\\)`).*$"
    msg <- sub(noise, "", msg)
    msg <- sub("^Error in py_call_impl\\(.*?\\) *:? *\n? *", "", msg)
    .rMessage(msg, labels)
}
