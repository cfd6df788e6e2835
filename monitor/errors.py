"""The errors the library raises. The CLI turns each into one line and exit code 1."""

from classifiers.errors import ModelError, MonitorError

__all__ = [
    "CollectorError", "ConfigError", "ImportFailed", "ModelError", "MonitorError", "OutOfTime", "RateLimited",
    "Terminated",
]


class ConfigError(MonitorError):
    "The configuration file is missing, malformed or has a wrong value."


class ImportFailed(MonitorError):
    "No row of an input file could be read."


class CollectorError(MonitorError):
    "A source could not be collected from (credentials, network, unexpected payload)."


class RateLimited(CollectorError):
    "The platform asked us to wait longer than we are willing to."

    def __init__(self, message: str, reset_at: float | None = None):
        super().__init__(message)
        self.reset_at = reset_at


class OutOfTime(CollectorError):
    "A collection run used up its time budget (``[sources.NAME] max_run_seconds``)."


class Terminated(KeyboardInterrupt):
    "The process was asked to stop (SIGTERM); like Ctrl-C, it unwinds so that runs and leases are closed."
