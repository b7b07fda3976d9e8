"""Every error stancetrack raises on purpose: one line, saying what and where."""


class StancetrackError(Exception):
    """Base class; the CLI prints the message as `Error: ...` and exits 1."""


class WatchlistError(StancetrackError):
    """The watchlist file is missing, unparsable or inconsistent."""


class IngestError(StancetrackError):
    """An input record cannot be turned into an article (file, line or record, reason)."""


class StoreError(StancetrackError):
    """The database cannot be opened, upgraded or written."""


class DatabaseLockedError(StoreError):
    """Another process holds the SQLite write lock for longer than the busy timeout."""


class ModelError(StancetrackError):
    """The stance model cannot be found or loaded."""


class EvaluationError(StancetrackError):
    """A labelled evaluation file is malformed."""


class NotFoundError(StancetrackError):
    """An actor, policy or run named on the command line does not exist."""


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """The process was told to stop (SIGTERM, SIGHUP): unwinds like Ctrl-C, with its reason."""

    def __init__(self, reason: str, exit_code: int) -> None:
        super().__init__(reason)
        self.exit_code = exit_code


class OutputError(StancetrackError):
    """A report, plot or other output cannot be written where it was asked to go."""
