"""The ``stance`` command: a thin layer over the library (``monitor.jobs`` and friends), one module per group."""

from monitor.cli.app import app, main

__all__ = ["app", "main"]
