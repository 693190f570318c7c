"""Package-wide settings, scanpy-style: ``twinpurify.settings.verbosity``.

The library itself only ever attaches a `logging.NullHandler` (the standard library's rule for
libraries): importing twinpurify prints nothing and does not change how an application logs.
Messages go to the "twinpurify" logger, so ``logging.basicConfig(level=logging.INFO)`` shows them
once. Setting ``settings.verbosity`` is the explicit opt-in for users who have not configured
logging: it attaches one stderr handler owned by this object and sets the logger's level.

Per-call ``verbose=False`` (estimators) silences notes for that call only, through a context
variable read by a filter, so it is thread-safe and never touches the logger's level.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

LOGGER_NAME = "twinpurify"
_LEVELS = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}
_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("twinpurify_quiet", default=False)


class _QuietFilter(logging.Filter):
    """Drops records below WARNING while a `quiet()` block is active in this thread/task."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_quiet.get() and record.levelno < logging.WARNING)


def _logger() -> logging.Logger:
    log = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, _QuietFilter) for f in log.filters):
        log.addFilter(_QuietFilter())
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    return log


@contextlib.contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Within the block, this thread's twinpurify notes (below WARNING) are dropped."""
    token = _quiet.set(bool(enabled) or _quiet.get())
    try:
        yield
    finally:
        _quiet.reset(token)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the message (notebooks and test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # noqa: D401
        import sys

        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class Settings:
    """Package-wide settings; the one instance is ``twinpurify.settings``.

    ``verbosity``: 0 errors, 1 warnings, 2 info (scale detected, genes dropped), 3 debug.
    None (the default) leaves logging entirely to the application. Set it when you want the
    package's notes on stderr without configuring `logging` yourself; an application that
    configures logging can leave it at None and read the "twinpurify" logger instead.

    Attributes
    ----------
    verbosity : int or None, default None
        0, 1, 2 or 3: sets the "twinpurify" logger's level (ERROR, WARNING, INFO, DEBUG) and attaches
        one stderr handler owned by this object. None removes that handler and resets the level,
        handing logging back to the application. Any other value raises ValueError.

    Examples
    --------
    >>> import twinpurify as tp
    >>> tp.settings.verbosity = 2  # info notes (e.g. the detected input scale) on stderr
    >>> tp.settings.verbosity
    2
    >>> tp.settings.verbosity = None  # back to the application's logging configuration
    """

    def __init__(self) -> None:
        self._verbosity: int | None = None
        self._handler: logging.Handler | None = None

    @property
    def verbosity(self) -> int | None:
        return self._verbosity

    @verbosity.setter
    def verbosity(self, value: int | None) -> None:
        log = _logger()
        if value is None:
            if self._handler is not None:
                log.removeHandler(self._handler)
                self._handler = None
            log.setLevel(logging.NOTSET)
            self._verbosity = None
            return
        if isinstance(value, bool) or not isinstance(value, int) or value not in _LEVELS:
            raise ValueError(f"verbosity must be 0, 1, 2, 3 or None, got {value!r}")
        if self._handler is None:
            self._handler = _StderrHandler()
            self._handler.setFormatter(logging.Formatter("twinpurify: %(message)s"))
            log.addHandler(self._handler)
        log.setLevel(_LEVELS[value])
        self._verbosity = value


settings = Settings()
_logger()


#: top-level packages whose frames a warning skips to reach the user's code (scikit-learn wraps `transform`)
_INTERNAL_PACKAGES = frozenset({"twinpurify", "sklearn"})


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """`warnings.warn` attributed to the first caller outside twinpurify (and scikit-learn's wrappers).

    A fixed ``stacklevel`` counts frames by hand and goes stale whenever a call path gains or loses a level
    (an override, a wrapper such as scikit-learn's `set_output`), pointing the user at a line inside the
    package; walking the stack names the user's own line whatever path led there.
    """
    import sys
    import warnings

    frame = sys._getframe(1)
    level = 2  # the caller of warn_user
    while frame.f_back is not None and frame.f_globals.get("__name__", "").split(".")[0] in _INTERNAL_PACKAGES:
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
