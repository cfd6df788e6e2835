"""Stance Monitor: collect posts about a debate, classify stance and sentiment, store and chart them."""

from monitor.config import Settings, load_settings
from monitor.ingest.records import PostRecord

__all__ = ["PostRecord", "Settings", "load_settings"]
