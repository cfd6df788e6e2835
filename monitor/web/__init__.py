"""The dashboard and read API behind ``stance serve``: ``create_app(settings)`` builds the ASGI app."""

from monitor.web.app import WebOptions, create_app
from monitor.web.security import Access

__all__ = ["Access", "WebOptions", "create_app"]
