# Every condition the package raises, and the advice texts, in one place.

.preview <- function(x, n = 5) {
    x <- as.character(x)
    more <- if (length(x) > n) sprintf(" and %d more", length(x) - n) else ""
    paste0(paste(utils::head(x, n), collapse = ", "), more)
}

.abort <- function(...) {
    text <- paste0("twinpurify: ", ...)
    cond <- structure(class = c("twinpurify_error", "error", "condition"),
        list(message = text, call = NULL))
    stop(cond)
}

.missingAdvice <- function() {
    paste0(
        "Run twinpurify::installTwinPurify() once (it makes a Python ",
        "environment with the engine under ", .envDirDefault(), "), or ",
        "point R at a Python that has the engine's dependencies: ",
        "Sys.setenv(RETICULATE_PYTHON = \"/path/to/python\") or ",
        "options(twinpurify.python = \"/path/to/python\") before the first ",
        "call.")
}

# Arguments of R functions called from Python arrive unconverted (the module
# is imported with convert = FALSE).
.fromPy <- function(v) {
    if (inherits(v, "python.builtin.object")) reticulate::py_to_r(v) else v
}

# Engine notes (Python logging, INFO and up) and Python warnings as R
# conditions, so suppressMessages()/suppressWarnings() work on them.
.engineCondition <- function(level, text) {
    text <- as.character(.fromPy(text))
    if (isTRUE(as.numeric(.fromPy(level)) >= 30)) {
        warning("twinpurify: ", text, call. = FALSE)
    } else {
        message(text)
    }
    invisible(NULL)
}

# A text progress bar on stderr (consoles, RStudio, knitr logs). Returns
# the callback handed to the engine and a closer for on.exit().
.progressBar <- function(enabled) {
    if (!isTRUE(enabled)) return(list(callback = NULL, close = function() NULL))
    state <- new.env(parent = emptyenv())
    callback <- function(done, total, loss) {
        done <- .fromPy(done)
        total <- .fromPy(total)
        if (is.null(state$bar)) {
            state$bar <- utils::txtProgressBar(min = 0, max = max(1, total),
                style = 3, file = stderr())
        }
        utils::setTxtProgressBar(state$bar, done)
        invisible(NULL)
    }
    finish <- function() {
        if (!is.null(state$bar)) close(state$bar)
        invisible(NULL)
    }
    list(callback = callback, close = finish)
}
