# Provisioning the engine: a dedicated Python virtual environment.

.envDirDefault <- function() {
    opt <- getOption("twinpurify.envdir")
    if (!is.null(opt)) return(path.expand(opt))
    file.path(tools::R_user_dir("twinpurify", which = "data"), "python-env")
}

.envPython <- function(envDir) {
    if (.Platform$OS.type == "windows") {
        file.path(envDir, "Scripts", "python.exe")
    } else {
        file.path(envDir, "bin", "python")
    }
}

.defaultTorch <- "torch==2.13.0"

#' Install the twinpurify Python engine into its own environment
#'
#' Creates a Python virtual environment (by default under
#' [tools::R_user_dir()], where [twinpurifyPython()] finds it without any
#' environment variable) and installs into it, from PyPI, torch and the
#' engine's pinned dependencies (`requirements.txt` in the package's `python`
#' folder). The engine's own Python code ships with this package and is
#' imported from there, so it always matches the R package's version.
#'
#' torch: the default is the CPU build, `torch==2.13.0`. For an NVIDIA GPU,
#' install a CUDA build instead by naming its wheel index, e.g.
#' `installTwinPurify(torchIndexUrl = "https://download.pytorch.org/whl/cu126")`
#' (any index or `torch` requirement pip understands works).
#'
#' @param envDir folder of the virtual environment. The default is
#'   `tools::R_user_dir("twinpurify", "data")/python-env`, or the option
#'   `twinpurify.envdir` when set; another folder is found only through that
#'   option (or `RETICULATE_PYTHON`).
#' @param python the Python (>= 3.9) to create the environment with.
#' @param torch the pip requirement for torch.
#' @param torchIndexUrl `NULL`, or a pip index URL for torch (a CUDA build).
#' @param extraPackages further pip requirements to install.
#' @param reinstall delete an existing environment at `envDir` first? Only
#'   a folder Python's venv made (one holding `pyvenv.cfg`) is deleted.
#' @param dryRun if `TRUE`, only return the commands that would run.
#' @return The commands (a list of character vectors: program, then
#'   arguments), invisibly; with `dryRun = FALSE` they have been run and the
#'   environment is ready.
#' @seealso [twinpurifyPython()] to see what the package uses.
#' @examples
#' cmds <- installTwinPurify(envDir = file.path(tempdir(), "tp-env"),
#'     dryRun = TRUE)
#' vapply(cmds, paste, character(1), collapse = " ")
#' @export
installTwinPurify <- function(envDir = .envDirDefault(),
    python = .findSystemPython(), torch = .defaultTorch,
    torchIndexUrl = NULL, extraPackages = character(),
    reinstall = FALSE, dryRun = FALSE) {
    .checkInstallArgs(envDir, python, torch, torchIndexUrl, extraPackages,
        dryRun)
    cmds <- .installCommands(envDir, python, torch, torchIndexUrl,
        extraPackages)
    if (isTRUE(dryRun)) return(invisible(cmds))
    if (dir.exists(envDir)) {
        # reinstall deletes the folder: only one that venv made (pyvenv.cfg)
        marker <- if (isTRUE(reinstall)) {
            file.path(envDir, "pyvenv.cfg")
        } else {
            .envPython(envDir)
        }
        if (!file.exists(marker)) {
            .abort("'envDir' ", envDir, " exists but is not a Python ",
                "environment; choose another folder")
        }
        if (isTRUE(reinstall)) unlink(envDir, recursive = TRUE)
    }
    for (cmd in cmds) .runCommand(cmd)
    hint <- if (identical(envDir, .envDirDefault())) "" else
        sprintf("; use it with options(twinpurify.envdir = \"%s\")", envDir)
    message("twinpurify: engine environment ready at ", envDir, hint,
        ". Restart R if Python was already started in this session.")
    invisible(cmds)
}

.checkInstallArgs <- function(envDir, python, torch, torchIndexUrl,
    extraPackages, dryRun) {
    single <- function(v) {
        is.character(v) && length(v) == 1 && !is.na(v) && nzchar(v)
    }
    if (!single(envDir)) .abort("'envDir' must be a single folder path")
    if (!single(torch)) .abort("'torch' must be a single pip requirement")
    if (!is.null(torchIndexUrl) && !single(torchIndexUrl)) {
        .abort("'torchIndexUrl' must be NULL or a single URL")
    }
    if (!is.character(extraPackages) || anyNA(extraPackages)) {
        .abort("'extraPackages' must be a character vector of requirements")
    }
    if (!single(python)) {
        .abort("no Python found to create the environment with; install ",
            "Python 3 (>= 3.9, with its venv module) or pass 'python'")
    }
    if (!isTRUE(dryRun) && !file.exists(Sys.which(python)) &&
        !file.exists(python)) {
        .abort("'python' ", python, " does not exist")
    }
    invisible()
}

.findSystemPython <- function() {
    for (p in c("python3", "python")) {
        path <- Sys.which(p)
        if (nzchar(path)) return(unname(path))
    }
    NA_character_
}

# The commands installTwinPurify() runs, as (program, args...) vectors.
.installCommands <- function(envDir, python, torch, torchIndexUrl,
    extraPackages) {
    envPy <- .envPython(envDir)
    pip <- c(envPy, "-m", "pip", "install", "--disable-pip-version-check")
    reqs <- file.path(.shippedEngine(), "requirements.txt")
    torchCmd <- c(pip, torch)
    if (!is.null(torchIndexUrl)) torchCmd <- c(torchCmd, "--index-url",
        torchIndexUrl)
    cmds <- list(
        venv = c(python, "-m", "venv", envDir),
        torch = torchCmd,
        deps = c(pip, "-r", reqs))
    if (length(extraPackages)) cmds$extra <- c(pip, extraPackages)
    cmds$check <- c(envPy, "-c", paste0("import sys; sys.path.insert(0, ",
        .pyString(.shippedEngine()), "); import twinpurify, torch; ",
        "print('twinpurify', twinpurify.__version__, 'torch', ",
        "torch.__version__)"))
    cmds
}

.pyString <- function(x) paste0("'", gsub("'", "\\\\'", x), "'")

.runCommand <- function(cmd) {
    message("twinpurify: running ", paste(shQuote(cmd), collapse = " "))
    # R puts its own library folder on LD_LIBRARY_PATH; a Python child must
    # not load R's libpython.
    status <- system2(cmd[1], shQuote(cmd[-1]), env = "LD_LIBRARY_PATH=")
    if (!identical(as.integer(status), 0L)) {
        .abort("command failed (status ", status, "): ",
            paste(cmd, collapse = " "))
    }
    invisible(status)
}
