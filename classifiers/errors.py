"""Errors a user can act on, defined in the lowest layer so that every layer above can raise and catch them.

``monitor.errors`` re-exports these and adds the ones only the monitor raises. The CLI turns each into one
line and exit code 1.
"""


class MonitorError(Exception):
    "Base class of every error a user can act on."


class ModelError(MonitorError):
    "A model artefact is missing, tampered with, or cannot be used."
