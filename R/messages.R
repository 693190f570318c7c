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

# Engine notes (Python logging, INFO and up) and Python warnings, handed to
# R by the engine while Python runs. Signalling them there would let an
# exiting handler (tryCatch(warning = ), rlang::catch_cnd()) unwind through
# the Python frame, which reticulate turns into "Unknown exception occurred";
# so inside .py() they are only recorded, and .py() signals them once Python
# has returned. Outside .py() (the engine called directly through
# twinPurifyEngine()) they are signalled at once, as before.
.engineCondition <- function(level, text) {
    cond <- list(level = as.numeric(.fromPy(level)),
        text = as.character(.fromPy(text)))
    if (is.null(.tp_state$pending)) {
        .signalEngine(list(cond))
    } else {
        .tp_state$pending[[length(.tp_state$pending) + 1L]] <- cond
    }
    invisible(NULL)
}

# Recorded engine conditions as R warnings (WARNING and up) and messages, in
# the order the engine raised them, so suppressMessages(),
# suppressWarnings() and every kind of handler work on them.
.signalEngine <- function(conds, labels = NULL) {
    for (cond in conds) {
        text <- .rMessage(cond$text, labels)
        if (isTRUE(cond$level >= 30)) {
            warning("twinpurify: ", text, call. = FALSE)
        } else {
            message(text)
        }
    }
    invisible(NULL)
}

# An engine message in R's words: without a Python exception class in front,
# the engine's snake_case parameter names as the R package's camelCase
# arguments, and the engine's names for the data ("X", "normal") replaced by
# the R arguments they came from (`labels`, e.g. c(X = "'newdata'")).
.rMessage <- function(msg, labels = NULL) {
    msg <- sub(paste0("^(?:[A-Za-z_][A-Za-z0-9_]*\\.)*[A-Za-z_][A-Za-z0-9_]*",
        "(?:Error|Exception|Warning): "), "", msg, perl = TRUE)
    for (nm in .engineNames()) {
        msg <- gsub(.asWord(nm), .camel(nm), msg, perl = TRUE)
    }
    for (nm in names(labels)) {
        if (startsWith(msg, paste0(nm, ": "))) {
            msg <- paste0(labels[[nm]], ": ",
                substring(msg, nchar(nm) + 3L))
        }
    }
    trimws(msg)
}

# A pattern matching `name` where it stands as a word of the sentence
# ("set n_genes=", "'n_genes'", "n_genes." at a sentence's end), not inside
# a path or file name ("runs/n_genes-2000/m", "n_genes.csv"), which must
# reach the user as it is: never next to a path's characters, nor before a
# dot that goes on into a name.
.asWord <- function(name) {
    paste0("(?<![\\w/\\\\.~-])", name, "(?![\\w/\\\\~-]|\\.[\\w/\\\\])")
}

# The engine's snake_case names R users know in camelCase: every
# hyper-parameter (once the engine is loaded) and the engine's names for
# arguments and functions of the R interface. Read straight from the bridge,
# never through .py(), whose errors are translated here.
.engineNames <- function() {
    params <- .tp_state$defaults
    if (is.null(params) && !is.null(.tp_state$bridge)) {
        params <- tryCatch(reticulate::py_to_r(.tp_state$bridge$defaults()),
            error = function(e) NULL)
    }
    known <- c(names(params), "fill_missing", "input_scale", "min_size",
        "gene_sets", "normal_value", "fit_readout", "purified_expression",
        "pathway_activity")
    unique(grep("_", known, value = TRUE, fixed = TRUE))
}

# The engine's names for the data and the R arguments they come from: `x`
# and `normal`, or, when `normal` marks columns of `x`, x's normals.
.dataLabels <- function(x = "x", normalInX = FALSE) {
    c(X = paste0("'", x, "'"),
        normal = if (normalInX) paste0("the normals of '", x, "'") else
            "'normal'")
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
